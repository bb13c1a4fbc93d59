"""asyncio TCP over IPv6 on one link: the V2G server an SECC announces in SDP, and the EVCC's client."""

from __future__ import annotations

import asyncio
import errno
import random
import socket
import ssl
from collections.abc import Awaitable, Callable

from harness.codec.v2g.sdp import SECC_PORT_MAX, SECC_PORT_MIN
from harness.transport.link import Link

ConnectionHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
_PORT_ATTEMPTS = 32


async def start_tcp_server(
    link: Link, handler: ConnectionHandler, port: int | None = None, tls: ssl.SSLContext | None = None
) -> tuple[asyncio.Server, int]:
    """Listen on ``link``'s address; without ``port``, a free one in the SECC's dynamic range; with
    ``tls``, every connection is a TLS session (the handler sees the plaintext)."""
    candidates = [port] if port else random.sample(range(SECC_PORT_MIN, SECC_PORT_MAX + 1), _PORT_ATTEMPTS)
    last_error: OSError | None = None
    for candidate in candidates:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(link.sockaddr(link.address, candidate))
            sock.listen(8)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            last_error = exc
            continue
        server = await asyncio.start_server(handler, sock=sock, ssl=tls)
        return server, candidate
    raise OSError(f"no free TCP port in {SECC_PORT_MIN}-{SECC_PORT_MAX}: {last_error}")


async def connect_tcp(
    link: Link, address: str, port: int, timeout: float, tls: ssl.SSLContext | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect within ``timeout``; with ``tls``, then a TLS handshake within ``timeout`` (no host name:
    ISO 15118-2 and IEEE 2030.5 peers are not identified by one)."""
    sockaddr = link.sockaddr(address, port)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, sockaddr), timeout)
    except BaseException:
        sock.close()
        raise
    if tls is None:
        return await asyncio.open_connection(sock=sock)
    try:
        return await asyncio.open_connection(
            sock=sock, ssl=tls, server_hostname="", ssl_handshake_timeout=timeout
        )
    except BaseException:
        sock.close()
        raise
