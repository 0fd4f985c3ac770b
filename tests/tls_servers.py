"""Real TLS servers on 127.0.0.1 for the TLS probe tests (stdlib ssl + a trustme CA).

- `TlsServer(LEGACY)`: accepts TLS 1.0 up to 1.3 (OpenSSL security level 0, so the system
  OpenSSL 3 still negotiates TLS 1.0/1.1 and their SHA-1 signatures);
- `TlsServer(MODERN)`: accepts TLS 1.2 and 1.3 only;
- `PlainServer`: answers TCP with an SSH banner and closes (a TCP pass-through to SSH);
- `SilentServer`: accepts TCP and never answers;
- `closed_port()`: a port nothing listens on (connection refused).

Certificates come from a throwaway trustme CA that nothing trusts: the probe must judge the
protocol versions without validating the chain. Each server counts the connections it
accepted (`connections`), so a test can tell whether anything connected at all.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import warnings
from types import TracebackType
from typing import Self

import trustme

LEGACY = "legacy"
MODERN = "modern"


class _Listener:
    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        with contextlib.suppress(OSError):  # shutdown wakes the server thread's accept()
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(timeout=5)

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError


class TlsServer(_Listener):
    """A TLS server whose only job is the handshake."""

    def __init__(self, kind: str, ca: trustme.CA | None = None) -> None:
        super().__init__()
        ca = ca or trustme.CA()
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with warnings.catch_warnings():  # TLSv1 is deprecated: that is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            if kind == LEGACY:
                self.context.minimum_version = ssl.TLSVersion.TLSv1
                self.context.set_ciphers("DEFAULT:@SECLEVEL=0")
            elif kind == MODERN:
                self.context.minimum_version = ssl.TLSVersion.TLSv1_2
            else:
                raise ValueError(kind)
        ca.issue_cert("localhost", "127.0.0.1").configure_cert(self.context)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            with self.context.wrap_socket(conn, server_side=True):
                pass
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()


class PlainServer(_Listener):
    """Speaks no TLS: sends an SSH banner and closes."""

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
        except OSError:
            pass
        finally:
            conn.close()


class SilentServer(_Listener):
    """Accepts TCP connections and never says a word (a tarpit)."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[socket.socket] = []

    def _serve(self, conn: socket.socket) -> None:
        self.held.append(conn)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        super().__exit__(exc_type, exc, tb)
        for conn in self.held:
            conn.close()


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port: int = sock.getsockname()[1]
    return port


def legacy_protocols_supported_by_system_openssl() -> bool:
    """Can this machine's OpenSSL still serve TLS 1.0 at security level 0? (Debian's and
    upstream OpenSSL 3 can; a build without TLS 1.0 cannot, and the tests say so.)"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            return False
    return bool(getattr(ssl, "HAS_TLSv1", False))
