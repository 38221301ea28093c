"""The other end of the console: ``reconciler daemon`` talking to a running daemon over
its local HTTP address. I/O only (stdlib ``urllib``); every failure becomes a
``DaemonUnreachable`` or ``ControlRefused`` that says what to check, never a traceback.

Requests go straight to the address: no ``$http_proxy`` (a proxy would receive the
control token, and cannot reach the caller's loopback anyway) and no redirects (the
daemon never redirects; following one would carry the token elsewhere).
"""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

from reconciler.credentials import load_secret_file
from reconciler.daemon.serving import compute_bind_address
from reconciler.daemon.snapshots import DaemonSnapshot, PassRecord, parse_snapshot_json
from reconciler.errors import ConfigurationError, ReconcilerError

TIMEOUT = 10.0
TOKEN_TEXT = re.compile(r"[\x21-\x7e]+")
"""What an HTTP header carries unchanged (and the daemon compares byte for byte)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the 3xx itself is then answered as an HTTPError


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


class DaemonUnreachable(ReconcilerError):
    """No daemon answered at the address, or it answered something else."""


class ControlRefused(ReconcilerError):
    """The daemon refused the request (suspended, not authorized...)."""


def compute_base_url(address: str) -> str:
    """``HOST:PORT`` as the daemon was told to listen -> the URL to reach it; a daemon
    listening on every interface (``:9464``, ``0.0.0.0``, ``::``) is reached on loopback."""
    try:
        host, port = compute_bind_address(address)
    except ValueError as err:
        raise ConfigurationError(f"--address: {err}") from err
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def load_token(path: Path | None) -> str | None:
    """The bearer token in ``path`` (surrounding whitespace ignored), or None."""
    if path is None:
        return None
    token = load_secret_file(path, what="control token")
    if not TOKEN_TEXT.fullmatch(token):
        # Never quote it: the error would show the secret (an HTTP library's would, too).
        raise ConfigurationError(
            f"{path}: the control token must be one word of printable ASCII (no spaces, "
            "line breaks or accents), e.g. from `openssl rand -hex 32`"
        )
    return token


def _unreachable(base: str, reason: object) -> DaemonUnreachable:
    return DaemonUnreachable(
        f"no daemon answers at {base} ({reason}); is `reconciler run` running with "
        "--metrics-address set to this address? (--address or $RECONCILER_METRICS_ADDRESS)"
    )


def _open(request: urllib.request.Request, base: str) -> bytes:
    try:
        with _OPENER.open(request, timeout=TIMEOUT) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as err:
        try:
            body = err.read()
        except (OSError, http.client.HTTPException):
            body = b""
        try:
            message = str(json.loads(body)["error"])
        except (ValueError, KeyError, TypeError):
            message = " ".join(body.decode("utf-8", "replace").split())[:200] or err.reason
        raise ControlRefused(f"the daemon at {base} refused: {message} (HTTP {err.code})") from err
    except http.client.HTTPException as err:  # something answers there, but not in HTTP
        raise _unreachable(base, f"a malformed HTTP answer: {type(err).__name__}") from err
    except OSError as err:  # URLError is one
        raise _unreachable(base, getattr(err, "reason", err)) from err


def fetch_snapshot(base: str) -> DaemonSnapshot:
    data = _open(urllib.request.Request(base + "/api/status"), base)
    try:
        return parse_snapshot_json(data)
    except ValueError as err:
        raise DaemonUnreachable(
            f"{base}/api/status did not answer with a daemon status; is this a reconciler?"
        ) from err


def send_control(base: str, action: str, *, token: str | None) -> dict[str, object]:
    """POST ``/api/<action>`` with an empty JSON object; the daemon's JSON answer."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"{base}/api/{action}", data=b"{}", headers=headers, method="POST"
    )
    data = _open(request, base)
    try:
        answer = json.loads(data)
    except ValueError as err:
        raise DaemonUnreachable(f"{base}/api/{action} did not answer JSON") from err
    if not isinstance(answer, dict):
        raise DaemonUnreachable(f"{base}/api/{action} did not answer a JSON object")
    return answer


def wait_for_pass(base: str, *, after: int, timeout: float, poll: float = 0.2) -> PassRecord:
    """Poll ``/api/status`` until a pass numbered above ``after`` has finished."""
    deadline = time.monotonic() + timeout
    while True:
        last = fetch_snapshot(base).last_pass
        if last is not None and last.number > after:
            return last
        if time.monotonic() >= deadline:
            raise ControlRefused(
                f"no pass finished within {timeout:.0f}s; the daemon may still run it "
                "(`reconciler daemon status` shows it)"
            )
        time.sleep(poll)
