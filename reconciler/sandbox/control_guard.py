"""Who may use the control plane (``/_sandbox/``): a program on this host, never a web
page that happens to be open in a local browser.

The app already answers the control plane to loopback clients only; a browser is one.
A page on any site can make it send a "simple" cross-site request (a ``text/plain`` or
form POST needs no CORS preflight) that resets the world or injects faults, and a page
that rebinds its DNS name to 127.0.0.1 can even read the answers. So, for every control
request:

- an ``Origin`` header, if any, must be a loopback origin naming the same host and port
  as ``Host`` (a page served by the sandbox itself; browsers send ``Origin`` on every
  cross-site request and on same-site POSTs);
- ``Host`` must be a loopback name or address (a rebound DNS name is not);
- a request that can change something (any method but GET and HEAD) must declare
  ``Content-Type: application/json``, which no page can send cross-site without a
  preflight this server never grants.

Anything else gets 403. Pure functions of the request's headers; no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

SAFE_METHODS = frozenset({"GET", "HEAD"})
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _is_loopback_host(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    return host in LOOPBACK_NAMES or host.endswith(".localhost") or is_loopback_address(host)


def is_loopback_address(host: str) -> bool:
    """A loopback IP address (``127.x``, ``::1``, an IPv4-mapped ``::ffff:127.x``; an IPv6
    zone ``%...`` ignored); a name is not an address."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _split_host(value: str) -> tuple[str, int | None] | None:
    """``host[:port]`` (IPv6 in brackets) as (host, port); None when malformed."""
    try:
        parts = urlsplit(f"//{value.strip()}")
        return parts.hostname or "", parts.port
    except ValueError:
        return None


def compute_control_refusal(method: str, headers: Mapping[str, str]) -> str | None:
    """Why a control-plane request must be refused (403), or None to serve it.
    ``headers`` are title-cased (``Content-Type``), as the server hands them over."""
    host_header = headers.get("Host", "")
    host = _split_host(host_header)
    if host is None or not _is_loopback_host(host[0]):
        return f"the control plane answers requests for a loopback host, not {host_header!r}"
    origin = headers.get("Origin")
    if origin is not None:
        parts = urlsplit(origin.strip())
        try:
            origin_host = (parts.hostname or "", parts.port)
        except ValueError:
            origin_host = ("", None)
        default_port = {"http": 80, "https": 443}.get(parts.scheme)
        same = (
            parts.scheme in ("http", "https")
            and _is_loopback_host(origin_host[0])
            and origin_host[0] == host[0]
            and (origin_host[1] or default_port) == (host[1] or 80)
        )
        if not same:
            return f"cross-site request refused: Origin {origin!r} is not this sandbox"
    if method.upper() not in SAFE_METHODS:
        media_type = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            return (
                "the control plane accepts only Content-Type: application/json for changes, "
                f"not {media_type or 'none'!r}"
            )
    return None
