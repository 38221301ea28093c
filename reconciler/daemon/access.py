"""Who may use the daemon's web console, decided purely from the request.

Reading (``/`` and ``/api/status``) is open to whoever can reach the address, except
that a loopback-bound server answers only requests addressed to a loopback name (a
``Host`` header of ``localhost``, ``127.x`` or ``[::1]``), so a web page cannot read it
through DNS rebinding. Changing anything (``/api/suspend``, ``/api/resume``,
``/api/reconcile``) needs a bearer token when one is configured (``--control-token-file``)
and otherwise a loopback-bound server, a loopback peer and a loopback ``Host``; and in
every case a JSON body and no foreign ``Origin`` (nor ``Sec-Fetch-Site: cross-site``), so
a browser cannot be tricked into sending one: a cross-site page can send neither that
content type without a CORS preflight, which this server never grants, nor a token.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    message: str


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost``...; an unspecified address (``0.0.0.0``,
    ``::``, ``''``) is *not* loopback: it listens on every interface."""
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def compute_host_name(host_header: str) -> str:
    """The name in a ``Host`` header, without its port (``[::1]:9464`` -> ``::1``)."""
    text = host_header.strip()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def compute_read_refusal(headers: Mapping[str, str], *, server_host: str) -> Refusal | None:
    if is_loopback(server_host) and not is_loopback(compute_host_name(headers.get("host", ""))):
        return Refusal(
            421,
            "this daemon listens on loopback only; address it as 127.0.0.1 or localhost",
        )
    return None


def compute_control_refusal(
    headers: Mapping[str, str],
    *,
    peer: str,
    server_host: str,
    token: str | None,
) -> Refusal | None:
    """None when the request may change the daemon's state, else why not."""
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        return Refusal(415, "control requests must be sent as application/json")
    origin = headers.get("origin")
    if origin is not None and origin != f"http://{headers.get('host', '')}":
        return Refusal(403, f"cross-site requests are refused (Origin {origin!r})")
    if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return Refusal(403, "cross-site requests are refused (Sec-Fetch-Site)")
    if token is not None:
        given = headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            value.strip().encode(), token.encode()
        ):
            return Refusal(401, "a valid bearer token is required (--control-token-file)")
        return None
    if not is_loopback(server_host):
        return Refusal(
            403,
            "control over the network needs a token: start the daemon with "
            "--control-token-file, or listen on 127.0.0.1",
        )
    if not is_loopback(peer):
        return Refusal(403, "control is served to loopback clients only")
    return compute_read_refusal(headers, server_host=server_host)
