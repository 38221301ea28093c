"""``reconciler daemon``'s client side against whatever answers at the address: a
daemon-like server that records what it was sent, a server that does not speak HTTP,
a proxy that must never see the control token, and addresses no URL can carry. Every
failure is one line naming the address, never an internal error."""

from __future__ import annotations

import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.daemon.remote import (
    ControlRefused,
    DaemonUnreachable,
    compute_base_url,
    fetch_snapshot,
    send_control,
)

TOKEN = "t0ken-for-the-daemon-only"


class RawServer:
    """Answers every connection with ``answer`` (raw bytes) and keeps what it was sent."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.received: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                self.received.append(self._read_request(conn))
                conn.sendall(self.answer)

    @staticmethod
    def _read_request(conn: socket.socket) -> bytes:
        """The whole request (head and body), so that closing never resets it."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        return data

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw_server(request: pytest.FixtureRequest) -> Iterator[RawServer]:
    server = RawServer(request.param)
    yield server
    server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "raw_server",
    [
        b"SSH-2.0-OpenSSH_9.2\r\n",  # not HTTP at all
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}",  # cut short
    ],
    indirect=True,
)
def test_a_server_that_does_not_speak_http_is_unreachable_not_a_crash(
    raw_server: RawServer,
) -> None:
    base = compute_base_url(raw_server.address)
    with pytest.raises(DaemonUnreachable, match=f"no daemon answers at {base}"):
        fetch_snapshot(base)
    with pytest.raises(DaemonUnreachable, match="malformed HTTP answer"):
        send_control(base, "suspend", token=None)
    result = CliRunner().invoke(cli, ["daemon", "status", "--address", raw_server.address])
    assert result.exit_code == 1
    assert result.output.startswith(f"error: no daemon answers at {base}")
    assert "internal error" not in result.output


@pytest.mark.parametrize(
    "raw_server",
    [b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/steal\r\nContent-Length: 0\r\n\r\n"],
    indirect=True,
)
def test_a_redirect_is_not_followed_with_the_token(raw_server: RawServer) -> None:
    base = compute_base_url(raw_server.address)
    with pytest.raises(ControlRefused, match="HTTP 302"):
        send_control(base, "suspend", token=TOKEN)
    assert len(raw_server.received) == 1


@pytest.mark.parametrize(
    "raw_server",
    [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"],
    indirect=True,
)
def test_a_proxy_in_the_environment_never_sees_the_control_token(
    raw_server: RawServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token goes to the daemon's own address or nowhere: with ``http_proxy`` set
    (and no ``no_proxy``), urllib would hand the request, token and all, to the proxy."""
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, f"http://{raw_server.address}")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    urllib.request.install_opener(None)  # urllib's default opener reads them afresh
    try:
        daemon = compute_base_url(f"127.0.0.1:{closed_port()}")
        with pytest.raises(DaemonUnreachable):
            send_control(daemon, "suspend", token=TOKEN)
    finally:
        urllib.request.install_opener(None)
    assert raw_server.received == []


@pytest.mark.parametrize("address", ["a b:80", "[::1:80", "http://127.0.0.1:9464"])
def test_an_address_no_url_can_carry_is_a_usage_error(address: str, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text(TOKEN)
    for command in (["status"], ["suspend", "--control-token-file", str(token)]):
        result = CliRunner().invoke(cli, ["daemon", *command, "--address", address])
        assert result.exit_code == 1
        assert result.output.startswith("error: --address: ")
        assert "is not HOST:PORT" in result.output
        assert "internal error" not in result.output


@pytest.mark.parametrize("text", ["first\nsecond\n", "two words\n", "jeton-\u00e9t\u00e9\n"])
def test_a_token_no_header_can_carry_is_refused_without_showing_it(
    text: str, tmp_path: Path
) -> None:
    """A line break in the token made http.client raise an "internal error" quoting
    the whole header, token included; a space or an accent never matched the daemon's."""
    token = tmp_path / "token"
    token.write_text(text)
    address = f"127.0.0.1:{closed_port()}"
    result = CliRunner().invoke(
        cli, ["daemon", "suspend", "--address", address, "--control-token-file", str(token)]
    )
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {token}: the control token must be one word")
    assert all(word not in result.output for word in text.split())
