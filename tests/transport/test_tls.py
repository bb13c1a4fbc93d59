"""Real TLS over loopback between the harness's HTTPS client and server with the generated PKI."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

from harness.pki.store import DeviceIdentity
from harness.transport.http import ConnectionEvent, HttpRequest, HttpResponse, Sep2HttpClient, Sep2HttpServer
from harness.transport.tls import (
    SEP2_CIPHER_ID,
    SEP2_CIPHER_OPENSSL,
    TlsPolicyError,
    assert_negotiated,
    client_context,
    sep2_cipher_string,
    server_context,
)

TLS13 = ssl.TLSVersion.TLSv1_3


async def _echo(request: HttpRequest) -> HttpResponse:
    lfdi = request.peer.lfdi if request.peer else "none"
    return HttpResponse.sep_xml(f"<Echo lfdi='{lfdi}'/>".encode())


async def _exchange(
    server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext
) -> tuple[object, list[ConnectionEvent]]:
    """One GET; returns the response (or the exception the client saw) and the server's events."""
    async with Sep2HttpServer(_echo, server_ctx) as server:
        client = Sep2HttpClient("127.0.0.1", server.port, client_ctx)
        try:
            outcome: object = await client.get("/dcap")
        except (ssl.SSLError, ConnectionError, OSError) as exc:
            outcome = exc
        finally:
            await client.close()
        # The server records the handshake outcome as it happens; wait (bounded) for it.
        for _ in range(200):
            if any(event.kind.startswith("tls-") for event in server.events):
                break
            await asyncio.sleep(0.01)
        return outcome, list(server.events)


def test_contexts_offer_exactly_the_2030_5_suite(identities: dict[str, DeviceIdentity]) -> None:
    for context in (server_context(identities["pfe-server"]), client_context(identities["ev"])):
        tls12 = [cipher for cipher in context.get_ciphers() if cipher["protocol"] == "TLSv1.2"]
        assert [cipher["name"] for cipher in tls12] == [SEP2_CIPHER_OPENSSL]
        assert tls12[0]["id"] & 0xFFFF == SEP2_CIPHER_ID == 0xC0AE
        assert context.minimum_version == context.maximum_version == ssl.TLSVersion.TLSv1_2
        assert context.verify_mode == ssl.CERT_REQUIRED
    assert client_context(identities["ev"]).check_hostname is False
    if ssl.OPENSSL_VERSION_INFO[:2] >= (3, 2):
        assert sep2_cipher_string().endswith(":@SECLEVEL=0")


def test_mutual_tls_negotiates_ccm8_on_tls12(identities: dict[str, DeviceIdentity], tmp_path: Path) -> None:
    server_keys, client_keys = tmp_path / "keys" / "server.keys", tmp_path / "keys" / "client.keys"

    async def run() -> None:
        server_ctx = server_context(identities["pfe-server"], keylog_path=server_keys)
        client_ctx = client_context(identities["ev"], keylog_path=client_keys)
        async with Sep2HttpServer(_echo, server_ctx) as server:
            async with Sep2HttpClient("127.0.0.1", server.port, client_ctx) as client:
                response = await client.get("/dcap")
                assert client.tls is not None
                assert client.tls.version == "TLSv1.2"
                assert client.tls.cipher == "ECDHE-ECDSA-AES128-CCM8"
                assert client.server_lfdi == identities["pfe-server"].lfdi
            assert response.status == 200
            assert identities["ev"].lfdi.encode() in response.body
            (established,) = [event for event in server.events if event.kind == "tls-established"]
            assert established.tls is not None and established.tls.compliant
            assert established.lfdi == identities["ev"].lfdi

    asyncio.run(run())
    for keylog in (server_keys, client_keys):
        lines = [line for line in keylog.read_text().splitlines() if not line.startswith("#")]
        # TLS 1.2 sessions are logged as CLIENT_RANDOM <32-byte random> <48-byte master secret>.
        assert lines and all(line.startswith("CLIENT_RANDOM ") for line in lines)
        _label, random, secret = lines[0].split()
        assert len(random) == 64 and len(secret) == 96

    def randoms(path: Path) -> set[str]:
        return {line.split()[1] for line in path.read_text().splitlines() if line.startswith("CLIENT_RANDOM")}

    assert randoms(server_keys) == randoms(client_keys)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("client offers TLS 1.3 only", "UNSUPPORTED_PROTOCOL|VERSION"),
        ("client offers another suite only", "HANDSHAKE_FAILURE|NO_SHARED_CIPHER|NO_CIPHERS"),
        ("client presents no certificate", "CERTIFICATE"),
        ("client chain from an untrusted root", "CERTIFICATE_VERIFY_FAILED|UNKNOWN_CA"),
    ],
)
def test_server_refuses(identities: dict[str, DeviceIdentity], case: str, expected: str) -> None:
    ev = identities["ev"]
    client_ctx = {
        "client offers TLS 1.3 only": lambda: client_context(
            ev, minimum_version=TLS13, maximum_version=TLS13
        ),
        "client offers another suite only": lambda: client_context(
            ev, ciphers="ECDHE-ECDSA-AES128-GCM-SHA256"
        ),
        "client presents no certificate": lambda: client_context(ev, present_certificate=False),
        "client chain from an untrusted root": lambda: client_context(
            identities["untrusted"], trust_anchor=ev.trust_anchor_path
        ),
    }[case]()
    outcome, events = asyncio.run(_exchange(server_context(identities["pfe-server"]), client_ctx))
    assert isinstance(outcome, ssl.SSLError | ConnectionError | OSError), f"{case}: got {outcome!r}"
    assert [event.kind for event in events if event.kind.startswith("tls-")] == ["tls-refused"]
    detail = events[0].detail.upper()
    assert any(word in detail for word in expected.split("|")), detail


def test_client_refuses_a_server_from_an_untrusted_root(identities: dict[str, DeviceIdentity]) -> None:
    server_ctx = server_context(identities["untrusted"], trust_anchor=identities["ev"].trust_anchor_path)
    outcome, _events = asyncio.run(_exchange(server_ctx, client_context(identities["ev"])))
    assert isinstance(outcome, ssl.SSLCertVerificationError), outcome


def test_assert_negotiated_catches_a_tls13_session(identities: dict[str, DeviceIdentity]) -> None:
    """With both sides misconfigured to TLS 1.3, the handshake succeeds and the check must fail."""

    async def run() -> None:
        server_ctx = server_context(identities["pfe-server"], minimum_version=TLS13, maximum_version=TLS13)
        server = Sep2HttpServer(_echo, server_ctx, enforce_policy=False)
        async with server:
            client_ctx = client_context(identities["ev"], minimum_version=TLS13, maximum_version=TLS13)
            client = Sep2HttpClient("127.0.0.1", server.port, client_ctx)
            with pytest.raises(TlsPolicyError, match="TLSv1.3") as info:
                await client.connect()
            assert "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8" in str(info.value)
            # The lenient client may proceed, and the session is reported as non-compliant.
            lenient = Sep2HttpClient("127.0.0.1", server.port, client_ctx, enforce_policy=False)
            async with lenient:
                assert (await lenient.get("/")).status == 200
                assert lenient.tls is not None and not lenient.tls.compliant
            # A policy-enforcing server closes such a connection before any HTTP.
            strict = Sep2HttpServer(_echo, server_ctx)
            async with strict:
                with pytest.raises((ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, ValueError)):
                    async with Sep2HttpClient(
                        "127.0.0.1", strict.port, client_ctx, enforce_policy=False
                    ) as c:
                        await c.get("/")
                assert any("TLSv1.3" in e.detail for e in strict.events if e.kind == "tls-refused")

    asyncio.run(run())


def test_assert_negotiated_needs_a_finished_handshake() -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    unfinished = context.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO())
    with pytest.raises(TlsPolicyError, match="handshake"):
        assert_negotiated(unfinished)
