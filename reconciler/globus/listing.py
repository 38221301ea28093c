"""What a directory holds, as far as deciding whether the reconciler may call it its own.

A grant directory is reserved in the state store before its mkdir; when the outcome of
that call was never seen (a crash, a lost answer), the directory may have been made by
the reconciler or may have been there all along, with someone's data in it. Only an
empty directory can be claimed without risk: removing it later loses nothing.
"""

from __future__ import annotations

from typing import Literal

import globus_sdk

from reconciler.globus.translating import translate

DirectoryState = Literal["missing", "empty", "not_empty"]


def fetch_directory_state(
    transfer: globus_sdk.TransferClient, collection_id: str, path: str
) -> DirectoryState:
    """``missing``, ``empty`` or ``not_empty``, from one ``operation_ls`` (at most one
    entry asked for). Any other failure raises the translated ``GlobusError``."""
    try:
        listing = transfer.operation_ls(collection_id, path=path, limit=1)
    except globus_sdk.TransferAPIError as err:
        if err.http_status == 404 or (err.code or "").endswith("NotFound"):
            return "missing"
        raise translate(err, service="transfer") from err
    except (globus_sdk.GlobusAPIError, globus_sdk.NetworkError) as err:
        raise translate(err, service="transfer") from err
    return "not_empty" if listing.get("DATA") else "empty"
