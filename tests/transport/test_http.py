"""The HTTPS/1.1 server and client: framing, keep-alive, limits, and bad input over real TLS."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable

import pytest

from harness.codec.sep2 import MEDIA_TYPE_SEP_XML
from harness.pki.store import DeviceIdentity
from harness.transport import http
from harness.transport.http import (
    BodyFraming,
    HttpProtocolError,
    HttpRequest,
    HttpResponse,
    Sep2HttpClient,
    Sep2HttpServer,
    body_framing,
    parse_request_head,
    parse_response_head,
    render_request,
    render_response,
    wants_close,
)
from harness.transport.tls import client_context, server_context

# --- pure framing --------------------------------------------------------------------------------


def test_request_head_round_trip() -> None:
    raw = render_request(
        "POST", "/edev/1/frq", "127.0.0.1:8443", b"<x/>", (("Content-Type", MEDIA_TYPE_SEP_XML),)
    )
    head, body = raw.split(b"\r\n\r\n", 1)
    method, target, version, headers = parse_request_head(head + b"\r\n\r\n")
    assert (method, target, version, body) == ("POST", "/edev/1/frq", "HTTP/1.1", b"<x/>")
    assert http.header(headers, "content-length") == "4"
    assert http.header(headers, "HOST") == "127.0.0.1:8443"
    assert body_framing(headers, head, request=True, max_body=100) == BodyFraming(length=4)


@pytest.mark.parametrize(
    ("head", "status", "reason"),
    [
        (b"GET /dcap\r\nHost: x\r\n\r\n", 400, "request line"),
        (b"GET dcap HTTP/1.1\r\nHost: x\r\n\r\n", 400, "absolute path"),
        (b"GET /dcap HTTP/2.0\r\nHost: x\r\n\r\n", 505, "version"),
        (b"G(T /dcap HTTP/1.1\r\nHost: x\r\n\r\n", 400, "method"),
        (b"GET /dcap HTTP/1.1\r\n\r\n", 400, "Host"),
        (b"GET /dcap HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, "folding"),
        (b"GET /dcap HTTP/1.1\r\nHost x\r\n\r\n", 400, "colon"),
        (b"GET /dcap HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n", 400, "header name"),
        (b"GET /dcap HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\n" * 200 + b"\r\n", 431, "header fields"),
    ],
)
def test_bad_request_heads(head: bytes, status: int, reason: str) -> None:
    with pytest.raises(HttpProtocolError) as info:
        parse_request_head(head)
    assert info.value.status == status
    assert reason in info.value.reason
    assert info.value.data == head


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        ((("Content-Length", "5"), ("Transfer-Encoding", "chunked")), 400, "both"),
        ((("Transfer-Encoding", "gzip"),), 501, "Transfer-Encoding"),
        ((("Content-Length", "-1"),), 400, "Content-Length"),
        ((("Content-Length", "5"), ("Content-Length", "6")), 400, "Content-Length"),
        ((("Content-Length", "101"),), 413, "exceeds"),
    ],
)
def test_bad_body_framing(headers: http.Headers, status: int, reason: str) -> None:
    with pytest.raises(HttpProtocolError) as info:
        body_framing(headers, b"head", request=True, max_body=100)
    assert info.value.status == status and reason in info.value.reason


def test_response_framing_rules() -> None:
    assert body_framing((), b"", request=False, max_body=10) == BodyFraming(length=None, until_close=True)
    assert body_framing((("Content-Length", "3, 3"),), b"", request=True, max_body=10).length == 3
    raw = render_response(HttpResponse.sep_xml(b"<Time/>", 200, (("Location", "/tm"),)))
    version, status, reason, headers = parse_response_head(raw.split(b"\r\n\r\n")[0] + b"\r\n\r\n")
    assert (version, status, reason) == ("HTTP/1.1", 200, "OK")
    assert http.header(headers, "Content-Type") == MEDIA_TYPE_SEP_XML
    assert http.header(headers, "Content-Length") == "7" and http.header(headers, "Date")
    assert raw.endswith(b"<Time/>")
    # 204 carries neither body nor Content-Length; HEAD gets the head only.
    assert b"Content-Length" not in render_response(HttpResponse.empty(204))
    assert render_response(HttpResponse.sep_xml(b"<x/>"), head_only=True).endswith(b"\r\n\r\n")
    assert wants_close("HTTP/1.0", ()) and not wants_close("HTTP/1.0", (("Connection", "keep-alive"),))
    assert wants_close("HTTP/1.1", (("Connection", "Close"),)) and not wants_close("HTTP/1.1", ())
    for bad in (b"HTTP/1.1 20 OK\r\n\r\n", b"HTTP/3 200 OK\r\n\r\n", b"garbage\r\n\r\n"):
        with pytest.raises(HttpProtocolError):
            parse_response_head(bad)


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def test_chunked_and_until_close_bodies() -> None:
    async def run() -> None:
        chunked = BodyFraming(chunked=True, length=None)
        assert await http._read_body(
            _reader(b"4;ext=1\r\n<Tim\r\n3\r\ne/>\r\n0\r\nX-T: 1\r\n\r\n"), chunked, 100, 5
        ) == (b"<Time/>")
        with pytest.raises(HttpProtocolError, match="exceeds"):
            await http._read_body(_reader(b"ff\r\n" + b"a" * 255 + b"\r\n0\r\n\r\n"), chunked, 100, 5)
        with pytest.raises(HttpProtocolError, match="chunk size"):
            await http._read_body(_reader(b"zz\r\n"), chunked, 100, 5)
        until_close = BodyFraming(length=None, until_close=True)
        assert await http._read_body(_reader(b"<a/>"), until_close, 100, 5) == b"<a/>"
        with pytest.raises(HttpProtocolError, match="exceeds"):
            await http._read_body(_reader(b"a" * 101), until_close, 100, 5)
        with pytest.raises(HttpProtocolError, match="middle of a body"):
            await http._read_body(_reader(b"abc"), BodyFraming(length=10), 100, 5)

    asyncio.run(run())


# --- over real TLS -------------------------------------------------------------------------------

Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


async def _resources(request: HttpRequest) -> HttpResponse:
    if request.path == "/boom":
        raise RuntimeError("handler bug")
    if request.path == "/bye":
        return HttpResponse.empty(204, (("Connection", "close"),))
    if request.method == "POST":
        return HttpResponse.empty(201, (("Location", f"{request.path}/1"),))
    if request.method in ("PUT", "DELETE"):
        return HttpResponse.empty(204)
    body = f"<Echo path='{request.path}' query='{request.query}' len='{len(request.body)}'/>".encode()
    return HttpResponse.sep_xml(body)


def _contexts(identities: dict[str, DeviceIdentity]) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    return server_context(identities["pfe-server"]), client_context(identities["ev"])


def test_methods_on_one_persistent_connection(identities: dict[str, DeviceIdentity]) -> None:
    server_ctx, client_ctx = _contexts(identities)

    async def run() -> None:
        async with Sep2HttpServer(_resources, server_ctx) as server:
            async with Sep2HttpClient("127.0.0.1", server.port, client_ctx) as client:
                got = await client.get("/tm?s=0&l=10")
                assert got.status == 200 and got.header("Content-Type") == MEDIA_TYPE_SEP_XML
                assert b"path='/tm'" in got.body and b"query='s=0&amp;l=10'" not in got.body
                assert b"query='s=0&l=10'" in got.body
                plain = await client.get("/tm")
                head = await client.head("/tm")
                assert (
                    head.status == 200
                    and head.body == b""
                    and head.header("Content-Length") == str(len(plain.body))
                )
                posted = await client.post("/edev", b"<EndDevice/>")
                assert posted.status == 201 and posted.header("Location") == "/edev/1"
                assert (await client.put("/edev/1", b"<EndDevice/>")).status == 204
                assert (await client.delete("/edev/1")).status == 204
                for _ in range(20):
                    assert (await client.get("/dcap")).status == 200
                assert client.connections_opened == 1
            established = [event for event in server.events if event.kind == "tls-established"]
            assert len(established) == 1

    asyncio.run(run())


def test_server_survives_bad_requests(identities: dict[str, DeviceIdentity]) -> None:
    server_ctx, client_ctx = _contexts(identities)

    async def raw(port: int, data: bytes) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client_ctx)
        writer.write(data)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return answer

    async def run() -> None:
        async with Sep2HttpServer(_resources, server_ctx, max_body=64) as server:
            assert (await raw(server.port, b"NONSENSE\r\n\r\n")).startswith(b"HTTP/1.1 400 ")
            assert (await raw(server.port, b"GET /dcap HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 400 ")
            too_big = b"POST /edev HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n\r\n" + b"a" * 65
            answer = await raw(server.port, too_big)
            assert answer.startswith(b"HTTP/1.1 413 ") and b"Connection: close" in answer
            chunked = (
                b"POST /edev HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nabc\r\n0\r\n\r\n"
            )
            assert (await raw(server.port, chunked)).startswith(b"HTTP/1.1 201 ")
            assert (
                await raw(server.port, b"GET /x HTTP/1.1\r\nHost: x\r\n" + b"X: y\r\n" * 4000)
            ).startswith(b"HTTP/1.1 431 ")
            async with Sep2HttpClient("127.0.0.1", server.port, client_ctx) as client:
                assert (await client.get("/boom")).status == 500
                assert (await client.get("/dcap")).status == 200  # same connection, still serving
                assert client.connections_opened == 1
            errors = [event for event in server.events if event.kind == "http-error"]
            assert any(event.data.startswith(b"NONSENSE") for event in errors)
            assert any("handler failed: RuntimeError" in event.detail for event in errors)

    asyncio.run(run())


def test_client_reconnects_after_the_server_closes(identities: dict[str, DeviceIdentity]) -> None:
    server_ctx, client_ctx = _contexts(identities)

    async def run() -> None:
        async with Sep2HttpServer(_resources, server_ctx) as server:
            async with Sep2HttpClient("127.0.0.1", server.port, client_ctx) as client:
                bye = await client.get("/bye")
                assert bye.status == 204 and bye.header("Connection") == "close"
                assert (await client.get("/dcap")).status == 200
                assert client.connections_opened == 2

    asyncio.run(run())


def test_idle_connection_is_closed_by_the_server(
    identities: dict[str, DeviceIdentity], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "KEEPALIVE_IDLE_TIMEOUT_S", 0.05)
    server_ctx, client_ctx = _contexts(identities)

    async def run() -> None:
        closed = asyncio.Event()

        def on_event(event: http.ConnectionEvent) -> None:
            if event.kind == "closed":
                closed.set()

        async with Sep2HttpServer(_resources, server_ctx, on_event=on_event) as server:
            async with Sep2HttpClient("127.0.0.1", server.port, client_ctx) as client:
                assert (await client.get("/dcap")).status == 200
                await asyncio.wait_for(closed.wait(), 5)  # the server gave up on the idle connection
                assert (await client.get("/dcap")).status == 200
                assert client.connections_opened == 2

    asyncio.run(run())


def test_client_refuses_an_oversized_response(identities: dict[str, DeviceIdentity]) -> None:
    server_ctx, client_ctx = _contexts(identities)

    async def big(_request: HttpRequest) -> HttpResponse:
        return HttpResponse.sep_xml(b"<a>" + b"x" * 200 + b"</a>")

    async def run() -> None:
        async with Sep2HttpServer(big, server_ctx) as server:
            client = Sep2HttpClient("127.0.0.1", server.port, client_ctx, max_body=100)
            with pytest.raises(HttpProtocolError, match="exceeds") as info:
                await client.get("/big")
            assert info.value.status == 413
            await client.close()

    asyncio.run(run())


def test_concurrent_clients_each_keep_their_connection(identities: dict[str, DeviceIdentity]) -> None:
    server_ctx, client_ctx = _contexts(identities)
    clients, requests = 6, 10

    async def one(port: int) -> list[int]:
        async with Sep2HttpClient("127.0.0.1", port, client_ctx) as client:
            statuses = [(await client.get(f"/edev/{n}")).status for n in range(requests)]
            assert client.connections_opened == 1
            return statuses

    async def run() -> None:
        async with Sep2HttpServer(_resources, server_ctx) as server:
            results = await asyncio.gather(*(one(server.port) for _ in range(clients)))
            assert results == [[200] * requests] * clients
            assert sum(event.kind == "tls-established" for event in server.events) == clients

    asyncio.run(run())


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback (::1) on this host")
def test_ipv6_loopback(identities: dict[str, DeviceIdentity]) -> None:
    server_ctx, client_ctx = _contexts(identities)

    async def run() -> None:
        async with Sep2HttpServer(_resources, server_ctx, host="::1") as server:
            async with Sep2HttpClient("::1", server.port, client_ctx) as client:
                assert client.authority == f"[::1]:{server.port}"
                assert (await client.get("/dcap")).status == 200
            established = [event for event in server.events if event.kind == "tls-established"]
            assert established[0].address[0] == "::1"

    asyncio.run(run())
