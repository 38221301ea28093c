"""The sandbox tells its own clock in every API answer's HTTP ``Date``, as Globus tells
its own: moving the sandbox clock moves it, so the reconciler's clock check can be
exercised (and ``apply --sandbox --now`` works when the two agree)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import globus_sdk
import pytest

from reconciler.globus.reading import parse_date_header
from tests.integration.conftest import SandboxHandle


def test_api_answers_carry_the_sandbox_clock_in_date(
    sandbox: SandboxHandle, transfer_client: globus_sdk.TransferClient
) -> None:
    collection = sandbox.add_managed_collection()
    ahead = datetime.now(UTC) + timedelta(days=1461)
    sandbox.control.set_clock(ahead)

    answer = transfer_client.endpoint_acl_list(collection)
    # One Date only: requests would join a second one with a comma, which does not parse.
    told = parse_date_header(answer.headers.get("Date"))
    assert told is not None
    assert abs(told - ahead) < timedelta(minutes=1)

    with pytest.raises(globus_sdk.TransferAPIError) as refused:
        transfer_client.endpoint_acl_list("00000000-0000-4000-8000-000000000000")
    told = parse_date_header(refused.value.headers.get("Date"))
    assert told is not None
    assert abs(told - ahead) < timedelta(minutes=1)
