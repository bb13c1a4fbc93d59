"""A small asyncio HTTPS/1.1 server and client for ``application/sep+xml`` (IEEE 2030.5 clause 5).

No web framework: IEEE 2030.5 needs GET/HEAD/PUT/POST/DELETE with small bodies over one persistent
TLS connection, and a conformance tester must see (and be able to produce) exactly what went over
the wire.  The message framing (:func:`parse_request_head`, :func:`parse_response_head`,
:func:`render_request`, :func:`render_response`) is pure; the classes below only move bytes.

Every connection's TLS session is checked with :func:`harness.transport.tls.assert_negotiated` before
a byte of HTTP is exchanged.  The server does the handshake itself (``start_tls`` on an accepted TCP
stream) so that a refused handshake becomes a :class:`ConnectionEvent` with the reason, which a
tester role turns into evidence, instead of a log line.

Limits (head size, body size, time-outs, requests per connection) are named constants; exceeding one
ends in a precise status (400, 408, 413, 431) or a closed connection, never an unbounded wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urlsplit

from harness.codec.sep2.media import MEDIA_TYPE_SEP_XML
from harness.pki.identity import sfdi_from_lfdi
from harness.transport.tls import NegotiatedTls, TlsPolicyError, assert_negotiated, negotiated, peer_lfdi

# Limits.  IEEE 2030.5 sets none for HTTP framing; these keep a hostile peer from costing unbounded
# memory or time, and are generous for 2030.5 resources (paged lists, clause 5.5.3.3).
MAX_HEAD_BYTES = 16 * 1024  # request/status line plus headers
MAX_HEADER_COUNT = 100
MAX_BODY_BYTES = 1024 * 1024  # same bound as the XML codec's MAX_XML_BODY_BYTES
HANDSHAKE_TIMEOUT_S = 10.0  # TLS handshake, accepted connection to Finished
HEAD_TIMEOUT_S = 10.0  # first byte of a request to the end of its headers
BODY_TIMEOUT_S = 30.0  # end of headers to the end of the body
KEEPALIVE_IDLE_TIMEOUT_S = 60.0  # idle persistent connection (RFC 9112 clause 9.8: either side may close)
HANDLER_TIMEOUT_S = 30.0  # application handler producing a response
MAX_REQUESTS_PER_CONNECTION = 100_000  # bounds the keep-alive loop
CLOSE_TIMEOUT_S = 5.0  # server close: connection tasks still running after this are left cancelled
_MAX_CHUNKS = 10_000

_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class HttpProtocolError(ValueError):
    """Bytes from the peer are not acceptable HTTP/1.1; ``data`` holds them, ``status`` the answer."""

    def __init__(self, reason: str, data: bytes = b"", status: int = HTTPStatus.BAD_REQUEST) -> None:
        snippet = data[:120]
        super().__init__(f"{reason}; bytes: {snippet!r}{'...' if len(data) > 120 else ''}")
        self.reason = reason
        self.data = bytes(data)
        self.status = int(status)


class HttpTimeout(TimeoutError):
    """The peer did not send what was expected within a named limit."""


Headers = tuple[tuple[str, str], ...]


def header(headers: Headers, name: str) -> str | None:
    """The last value of header ``name`` (case-insensitive), or None."""
    wanted = name.lower()
    found = None
    for key, value in headers:
        if key.lower() == wanted:
            found = value
    return found


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """Who is on the other end of a connection, as TLS proved it."""

    address: tuple[str, int]
    tls: NegotiatedTls
    lfdi: str | None
    sfdi: int | None


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    target: str
    headers: Headers
    body: bytes = b""
    version: str = "HTTP/1.1"
    peer: PeerInfo | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query

    def header(self, name: str) -> str | None:
        return header(self.headers, name)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Headers = ()
    body: bytes = b""
    version: str = "HTTP/1.1"
    reason: str = ""

    def header(self, name: str) -> str | None:
        return header(self.headers, name)

    @staticmethod
    def sep_xml(body: bytes, status: int = HTTPStatus.OK, headers: Headers = ()) -> HttpResponse:
        """A response carrying an IEEE 2030.5 XML representation."""
        return HttpResponse(
            status=status, headers=(("Content-Type", MEDIA_TYPE_SEP_XML), *headers), body=body
        )

    @staticmethod
    def empty(status: int, headers: Headers = ()) -> HttpResponse:
        return HttpResponse(status=status, headers=headers)


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """Something a server saw on a connection: kind is one of 'tls-established', 'tls-refused',
    'http-error', 'closed'."""

    kind: str
    address: tuple[str, int]
    detail: str = ""
    tls: NegotiatedTls | None = None
    lfdi: str | None = None
    data: bytes = b""


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]
EventSink = Callable[[ConnectionEvent], None]


# --- pure framing --------------------------------------------------------------------------------


def _check_token(value: str, what: str, data: bytes) -> None:
    if not value or any(ch not in _TOKEN_CHARS for ch in value):
        raise HttpProtocolError(f"invalid {what} {value!r}", data)


def _parse_header_lines(lines: list[bytes], data: bytes) -> Headers:
    if len(lines) > MAX_HEADER_COUNT:
        raise HttpProtocolError(
            f"{len(lines)} header fields exceed {MAX_HEADER_COUNT}",
            data,
            HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
        )
    result: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            # RFC 9112 clause 5.2: obsolete line folding must be rejected (or replaced) by a server.
            raise HttpProtocolError("obsolete header line folding", data)
        name, sep, value = line.partition(b":")
        if not sep:
            raise HttpProtocolError(f"header line without a colon: {line[:60]!r}", data)
        try:
            key = name.decode("ascii")
            text = value.strip(b" \t").decode("latin-1")
        except UnicodeDecodeError:
            raise HttpProtocolError("non-ASCII header name", data) from None
        _check_token(key, "header name", data)
        if any(ch in text for ch in "\r\n\x00"):
            raise HttpProtocolError(f"control character in header {key}", data)
        result.append((key, text))
    return tuple(result)


def _split_head(data: bytes) -> tuple[bytes, list[bytes]]:
    if not data.endswith(b"\r\n\r\n"):
        raise HttpProtocolError("head does not end with an empty line", data)
    lines = data[:-4].split(b"\r\n")
    return lines[0], lines[1:]


def parse_request_head(data: bytes) -> tuple[str, str, str, Headers]:
    """(method, target, version, headers) of a request head ending in CRLF CRLF."""
    start, lines = _split_head(data)
    parts = start.split(b" ")
    if len(parts) != 3:
        raise HttpProtocolError(f"malformed request line {start[:80]!r}", data)
    try:
        method, target, version = (part.decode("ascii") for part in parts)
    except UnicodeDecodeError:
        raise HttpProtocolError("non-ASCII request line", data) from None
    _check_token(method, "method", data)
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpProtocolError(
            f"unsupported version {version!r}", data, HTTPStatus.HTTP_VERSION_NOT_SUPPORTED
        )
    if not target.startswith("/") or any(ch.isspace() or ord(ch) < 0x21 for ch in target):
        raise HttpProtocolError(f"request target must be an absolute path: {target[:80]!r}", data)
    headers = _parse_header_lines(lines, data)
    if version == "HTTP/1.1" and header(headers, "Host") is None:
        # RFC 9112 clause 3.2: a server must answer 400 to an HTTP/1.1 request without Host.
        raise HttpProtocolError("HTTP/1.1 request without Host header", data)
    return method, target, version, headers


def parse_response_head(data: bytes) -> tuple[str, int, str, Headers]:
    """(version, status, reason, headers) of a response head ending in CRLF CRLF."""
    start, lines = _split_head(data)
    parts = start.split(b" ", 2)
    if len(parts) < 2:
        raise HttpProtocolError(f"malformed status line {start[:80]!r}", data)
    try:
        version = parts[0].decode("ascii")
        code_text = parts[1].decode("ascii")
        reason = parts[2].decode("latin-1") if len(parts) == 3 else ""
    except UnicodeDecodeError:
        raise HttpProtocolError("non-ASCII status line", data) from None
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpProtocolError(f"unsupported version {version!r}", data)
    if len(code_text) != 3 or not code_text.isdigit():
        raise HttpProtocolError(f"malformed status code {code_text!r}", data)
    return version, int(code_text), reason, _parse_header_lines(lines, data)


@dataclass(frozen=True, slots=True)
class BodyFraming:
    """How the body after a head is delimited: chunked, a length, to end of stream, or none."""

    chunked: bool = False
    length: int | None = 0
    until_close: bool = False


def body_framing(headers: Headers, data: bytes, *, request: bool, max_body: int) -> BodyFraming:
    """RFC 9112 clause 6.3 message body length rules, with the harness's body limit."""
    transfer = header(headers, "Transfer-Encoding")
    lengths = [value for key, value in headers if key.lower() == "content-length"]
    if transfer is not None:
        if lengths:
            # RFC 9112 clause 6.1: both present is a request smuggling vector; reject.
            raise HttpProtocolError("both Transfer-Encoding and Content-Length", data)
        if transfer.strip().lower() != "chunked":
            raise HttpProtocolError(
                f"unsupported Transfer-Encoding {transfer!r}", data, HTTPStatus.NOT_IMPLEMENTED
            )
        return BodyFraming(chunked=True, length=None)
    if lengths:
        values = {value.strip() for value in ",".join(lengths).split(",")}
        if len(values) != 1 or not next(iter(values)).isdigit():
            raise HttpProtocolError(f"invalid Content-Length {lengths!r}", data)
        length = int(next(iter(values)))
        if length > max_body:
            raise HttpProtocolError(
                f"body of {length} bytes exceeds the limit of {max_body}",
                data,
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        return BodyFraming(length=length)
    if request:
        return BodyFraming(length=0)
    return BodyFraming(length=None, until_close=True)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _status_has_body(status: int) -> bool:
    return not (100 <= status < 200 or status in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED))


def render_response(response: HttpResponse, *, head_only: bool = False, close: bool = False) -> bytes:
    """The bytes of ``response``; Content-Length and Connection are set here, Date if absent."""
    lines = [f"HTTP/1.1 {response.status} {response.reason or _reason(response.status)}"]
    managed = {"content-length", "connection", "transfer-encoding"}
    lines += [f"{key}: {value}" for key, value in response.headers if key.lower() not in managed]
    if header(response.headers, "Date") is None:
        lines.append(f"Date: {email.utils.formatdate(usegmt=True)}")
    if _status_has_body(response.status):
        lines.append(f"Content-Length: {len(response.body)}")
    if close:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if head_only or not _status_has_body(response.status):
        return head
    return head + response.body


def render_request(
    method: str, target: str, host: str, body: bytes = b"", headers: Headers = (), *, close: bool = False
) -> bytes:
    """The bytes of a request; Host and Content-Length are set here."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    managed = {"host", "content-length", "connection"}
    lines += [f"{key}: {value}" for key, value in headers if key.lower() not in managed]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def wants_close(version: str, headers: Headers) -> bool:
    """RFC 9112 clause 9.3: does this message end its connection?"""
    tokens = {token.strip().lower() for token in (header(headers, "Connection") or "").split(",")}
    if version == "HTTP/1.0":
        return "keep-alive" not in tokens
    return "close" in tokens


# --- stream helpers ------------------------------------------------------------------------------


async def _read_head(reader: asyncio.StreamReader, timeout: float) -> bytes:
    try:
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except asyncio.LimitOverrunError as exc:
        raise HttpProtocolError(
            f"head longer than {MAX_HEAD_BYTES} bytes", b"", HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
        ) from exc
    except TimeoutError as exc:
        raise HttpTimeout(f"no complete head within {timeout} s") from exc


async def _read_body(
    reader: asyncio.StreamReader, framing: BodyFraming, max_body: int, timeout: float
) -> bytes:
    async def read() -> bytes:
        if framing.chunked:
            return await _read_chunked(reader, max_body)
        if framing.until_close:
            data = await reader.read(max_body + 1)
            while data and len(data) <= max_body:
                more = await reader.read(max_body + 1 - len(data))
                if not more:
                    break
                data += more
            if len(data) > max_body:
                raise HttpProtocolError(
                    f"body exceeds the limit of {max_body}", data[:256], HTTPStatus.REQUEST_ENTITY_TOO_LARGE
                )
            return data
        return await reader.readexactly(framing.length or 0)

    try:
        return await asyncio.wait_for(read(), timeout)
    except TimeoutError as exc:
        raise HttpTimeout(f"body not complete within {timeout} s") from exc
    except asyncio.IncompleteReadError as exc:
        raise HttpProtocolError("connection closed in the middle of a body", exc.partial) from None


async def _read_chunked(reader: asyncio.StreamReader, max_body: int) -> bytes:
    body = bytearray()
    for _ in range(_MAX_CHUNKS):
        size_line = await reader.readuntil(b"\r\n")
        size_text = size_line[:-2].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HttpProtocolError(f"bad chunk size {size_text[:20]!r}", bytes(size_line)) from None
        if size == 0:
            # Trailer section (ignored) up to the empty line, bounded like a head.
            for _ in range(MAX_HEADER_COUNT + 1):
                if await reader.readuntil(b"\r\n") == b"\r\n":
                    return bytes(body)
            raise HttpProtocolError("too many trailer fields", bytes(body[:256]))
        if len(body) + size > max_body:
            raise HttpProtocolError(
                f"chunked body exceeds the limit of {max_body}",
                bytes(body[:256]),
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            )
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise HttpProtocolError("chunk not followed by CRLF", bytes(body[-64:]))
    raise HttpProtocolError(f"more than {_MAX_CHUNKS} chunks", bytes(body[:256]))


def _peer_info(writer: asyncio.StreamWriter, session: NegotiatedTls) -> PeerInfo:
    ssl_object = writer.get_extra_info("ssl_object")
    lfdi = peer_lfdi(ssl_object) if ssl_object is not None else None
    address = writer.get_extra_info("peername") or ("", 0)
    return PeerInfo(
        address=(str(address[0]), int(address[1])),
        tls=session,
        lfdi=lfdi,
        sfdi=sfdi_from_lfdi(lfdi) if lfdi else None,
    )


# --- server --------------------------------------------------------------------------------------


class _Accepted(asyncio.Protocol):
    """A fresh TCP connection: stop reading at once, so no TLS byte is consumed before start_tls."""

    def __init__(self, server: Sep2HttpServer) -> None:
        self._server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.pause_reading()
        self._server._spawn(transport)


@dataclass
class Sep2HttpServer:
    """An HTTPS/1.1 server on loopback (or any address) calling ``handler`` for every request.

    ``events`` records every connection's TLS outcome and HTTP errors (bounded by ``max_events``);
    ``on_event`` sees them as they happen.
    """

    handler: Handler
    ssl_context: ssl.SSLContext
    host: str = "127.0.0.1"
    port: int = 0
    max_body: int = MAX_BODY_BYTES
    on_event: EventSink | None = None
    enforce_policy: bool = True
    max_events: int = 10_000
    events: list[ConnectionEvent] = field(default_factory=list)
    sock: socket.socket | None = None
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _transports: set[asyncio.Transport] = field(default_factory=set)

    async def start(self) -> Sep2HttpServer:
        loop = asyncio.get_running_loop()
        if self.sock is not None:  # a socket made elsewhere (e.g. inside another network namespace)
            self._server = await loop.create_server(lambda: _Accepted(self), sock=self.sock)
        else:
            self._server = await loop.create_server(lambda: _Accepted(self), self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        # Abort the connections first: a cancellation can be lost inside asyncio.wait_for on
        # Python 3.11, and a connection left alive would hold close() for its keep-alive time.
        for transport in list(self._transports):
            transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=CLOSE_TIMEOUT_S)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Sep2HttpServer:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def _record(self, event: ConnectionEvent) -> None:
        if len(self.events) < self.max_events:
            self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def _spawn(self, transport: asyncio.Transport) -> None:
        task = asyncio.get_running_loop().create_task(self._connection(transport))
        self._tasks.add(task)
        self._transports.add(transport)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _task: self._transports.discard(transport))

    async def _connection(self, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername") or ("", 0)
        address = (str(peer[0]), int(peer[1]))
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=MAX_HEAD_BYTES, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        try:
            tls_transport = await asyncio.wait_for(
                loop.start_tls(transport, protocol, self.ssl_context, server_side=True), HANDSHAKE_TIMEOUT_S
            )
        except (ssl.SSLError, ConnectionError, OSError, TimeoutError) as exc:
            transport.abort()
            detail = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            self._record(ConnectionEvent("tls-refused", address, f"{type(exc).__name__}: {detail}"))
            self._record(ConnectionEvent("closed", address))
            return
        if tls_transport is None:  # the peer closed during the handshake
            transport.abort()
            self._record(ConnectionEvent("tls-refused", address, "connection closed during the handshake"))
            self._record(ConnectionEvent("closed", address))
            return
        # start_tls hands the TLS transport over without calling connection_made on the protocol.
        protocol.connection_made(tls_transport)
        writer = asyncio.StreamWriter(tls_transport, protocol, reader, loop)
        try:
            await self._serve(reader, writer, address)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            self._record(ConnectionEvent("closed", address))

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, address: tuple[str, int]
    ) -> None:
        ssl_object = writer.get_extra_info("ssl_object")
        try:
            session = assert_negotiated(ssl_object) if self.enforce_policy else negotiated(ssl_object)
        except TlsPolicyError as exc:
            self._record(ConnectionEvent("tls-refused", address, str(exc)))
            return
        peer = _peer_info(writer, session)
        self._record(ConnectionEvent("tls-established", address, str(session), tls=session, lfdi=peer.lfdi))
        for count in range(MAX_REQUESTS_PER_CONNECTION):
            timeout = HEAD_TIMEOUT_S if count == 0 else KEEPALIVE_IDLE_TIMEOUT_S
            try:
                keep = await self._one_request(reader, writer, peer, timeout)
            except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
                self._record(ConnectionEvent("http-error", address, f"connection lost: {type(exc).__name__}"))
                return
            if not keep:
                return

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: PeerInfo, timeout: float
    ) -> bool:
        try:
            head = await _read_head(reader, timeout)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                self._record(ConnectionEvent("http-error", peer.address, "closed mid-head", data=exc.partial))
            return False  # a clean close between requests
        except HttpTimeout:
            return False  # idle keep-alive connection: close quietly
        except HttpProtocolError as exc:
            await self._refuse(writer, peer, exc)
            return False
        try:
            method, target, version, headers = parse_request_head(head)
            framing = body_framing(headers, head, request=True, max_body=self.max_body)
            body = await _read_body(reader, framing, self.max_body, BODY_TIMEOUT_S)
        except HttpProtocolError as exc:
            await self._refuse(writer, peer, exc)
            return False
        except HttpTimeout as exc:
            self._record(ConnectionEvent("http-error", peer.address, str(exc), data=head))
            await self._send(writer, HttpResponse.empty(HTTPStatus.REQUEST_TIMEOUT), close=True)
            return False
        request = HttpRequest(method, target, headers, body, version, peer)
        try:
            response = await asyncio.wait_for(self.handler(request), HANDLER_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - a handler bug answers 500 and is recorded, not fatal
            self._record(
                ConnectionEvent("http-error", peer.address, f"handler failed: {type(exc).__name__}: {exc}")
            )
            response = HttpResponse.empty(HTTPStatus.INTERNAL_SERVER_ERROR)
        close = wants_close(version, headers) or wants_close("HTTP/1.1", response.headers)
        await self._send(writer, response, head_only=method == "HEAD", close=close)
        return not close

    async def _refuse(self, writer: asyncio.StreamWriter, peer: PeerInfo, exc: HttpProtocolError) -> None:
        self._record(ConnectionEvent("http-error", peer.address, exc.reason, data=exc.data))
        await self._send(writer, HttpResponse.empty(exc.status), close=True)

    @staticmethod
    async def _send(
        writer: asyncio.StreamWriter, response: HttpResponse, *, head_only: bool = False, close: bool = False
    ) -> None:
        writer.write(render_response(response, head_only=head_only, close=close))
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(writer.drain(), BODY_TIMEOUT_S)


# --- client --------------------------------------------------------------------------------------


@dataclass
class Sep2HttpClient:
    """An HTTPS/1.1 client keeping one persistent connection to ``host``:``port``.

    The connection is opened on first use (or by :meth:`connect`), its TLS session asserted, and
    reopened when the server has closed it between requests.  Requests are sent one at a time.
    """

    host: str
    port: int
    ssl_context: ssl.SSLContext
    max_body: int = MAX_BODY_BYTES
    timeout: float = BODY_TIMEOUT_S
    enforce_policy: bool = True
    tls: NegotiatedTls | None = None
    server_lfdi: str | None = None
    connections_opened: int = 0
    _reader: asyncio.StreamReader | None = None
    _writer: asyncio.StreamWriter | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    async def connect(self) -> NegotiatedTls:
        await self._drop()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=self.ssl_context, limit=MAX_HEAD_BYTES),
            HANDSHAKE_TIMEOUT_S,
        )
        ssl_object = writer.get_extra_info("ssl_object")
        try:
            session = assert_negotiated(ssl_object) if self.enforce_policy else negotiated(ssl_object)
        except TlsPolicyError:
            writer.close()
            raise
        self.server_lfdi = peer_lfdi(ssl_object)
        self._reader, self._writer, self.tls = reader, writer, session
        self.connections_opened += 1
        return session

    async def _drop(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def close(self) -> None:
        await self._drop()

    async def __aenter__(self) -> Sep2HttpClient:
        await self.connect()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def request(
        self, method: str, target: str, body: bytes = b"", headers: Headers = (), *, close: bool = False
    ) -> HttpResponse:
        """Send one request and read its response on the persistent connection."""
        async with self._lock:
            if (
                self._writer is None
                or self._reader is None
                or self._reader.at_eof()
                or self._writer.is_closing()
            ):
                await self.connect()
            assert self._reader is not None and self._writer is not None
            self._writer.write(render_request(method, target, self.authority, body, headers, close=close))
            try:
                await asyncio.wait_for(self._writer.drain(), self.timeout)
                head = await _read_head(self._reader, self.timeout)
                version, status, reason, response_headers = parse_response_head(head)
                if method == "HEAD" or not _status_has_body(status):
                    framing = BodyFraming(length=0)
                else:
                    framing = body_framing(response_headers, head, request=False, max_body=self.max_body)
                response_body = await _read_body(self._reader, framing, self.max_body, self.timeout)
            except BaseException:
                await self._drop()  # the connection's framing state is unknown: never reuse it
                raise
            if close or framing.until_close or wants_close(version, response_headers):
                await self._drop()
            return HttpResponse(status, response_headers, response_body, version, reason)

    async def get(self, target: str, headers: Headers = ()) -> HttpResponse:
        return await self.request("GET", target, headers=(("Accept", MEDIA_TYPE_SEP_XML), *headers))

    async def head(self, target: str, headers: Headers = ()) -> HttpResponse:
        return await self.request("HEAD", target, headers=(("Accept", MEDIA_TYPE_SEP_XML), *headers))

    async def post(self, target: str, body: bytes, content_type: str = MEDIA_TYPE_SEP_XML) -> HttpResponse:
        return await self.request("POST", target, body, (("Content-Type", content_type),))

    async def put(self, target: str, body: bytes, content_type: str = MEDIA_TYPE_SEP_XML) -> HttpResponse:
        return await self.request("PUT", target, body, (("Content-Type", content_type),))

    async def delete(self, target: str) -> HttpResponse:
        return await self.request("DELETE", target)
