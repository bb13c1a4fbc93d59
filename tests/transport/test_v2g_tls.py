"""ISO 15118-2 TLS contexts (harness.transport.v2g_tls) over real loopback TLS with the V2G test PKI: version
and suite pinned, TLS 1.3 refused, no client certificate, the EV's chain checks with the alert on the wire."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

from harness.pki.v2g import SECC, SECC_EXPIRED, SECC_UNTRUSTED, init_v2g_pki, load_v2g_credentials
from harness.transport.tls import NegotiatedTls, TlsPolicyError
from harness.transport.v2g_tls import (
    V2G_CIPHER_OPENSSL,
    V2G_TLS_VERSION_NAME,
    assert_v2g_negotiated,
    evcc_context,
    secc_context,
    v2g_compliant,
)

TLS13 = ssl.TLSVersion.TLSv1_3
HANDSHAKE_TIMEOUT_S = 5.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("v2g-tls")
    init_v2g_pki(directory)
    return directory


async def _session(server: ssl.SSLContext, client: ssl.SSLContext) -> tuple[object, object]:
    """One connection: (what the client got: NegotiatedTls or its exception, what the server saw)."""
    seen: asyncio.Future[object] = asyncio.get_running_loop().create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await writer.start_tls(server, ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S)
            seen.set_result(writer.get_extra_info("ssl_object").getpeercert(binary_form=True))
            writer.write(await reader.readexactly(4))
            await writer.drain()
        except (ssl.SSLError, ConnectionError, OSError, TimeoutError) as exc:
            if not seen.done():
                seen.set_result(exc)
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client, server_hostname="", ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S
            )
            writer.write(b"ping")
            assert await reader.readexactly(4) == b"ping"
            got: object = assert_v2g_negotiated(writer.get_extra_info("ssl_object"))
            writer.close()
        except (ssl.SSLError, ConnectionError, OSError, TimeoutError) as exc:
            got = exc
        return got, await asyncio.wait_for(seen, HANDSHAKE_TIMEOUT_S)
    finally:
        listener.close()


def _run(server: ssl.SSLContext, client: ssl.SSLContext) -> tuple[object, object]:
    return asyncio.run(_session(server, client))


def test_tls_1_2_with_the_iso_15118_2_suite_and_no_client_certificate(pki: Path, tmp_path: Path) -> None:
    credentials = load_v2g_credentials(pki)
    keylog = tmp_path / "keys"
    got, seen = _run(
        secc_context(credentials, keylog_path=keylog), evcc_context(credentials.trust_anchor_path)
    )
    assert isinstance(got, NegotiatedTls)
    assert (got.version, got.cipher) == (V2G_TLS_VERSION_NAME, V2G_CIPHER_OPENSSL)
    assert seen is None  # the SECC asked the EV for no certificate (ISO 15118-2: no TLS client auth)
    assert "CLIENT_RANDOM " in keylog.read_text()  # NSS key log of a TLS 1.2 session


def test_contexts_are_pinned(pki: Path) -> None:
    credentials = load_v2g_credentials(pki)
    for context in (secc_context(credentials), evcc_context(credentials.trust_anchor_path)):
        assert context.minimum_version == context.maximum_version == ssl.TLSVersion.TLSv1_2
        tls12 = {c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"}
        assert tls12 == {V2G_CIPHER_OPENSSL}
    assert evcc_context(credentials.trust_anchor_path).check_hostname is False
    assert secc_context(credentials).verify_mode == ssl.CERT_NONE


def test_an_ev_offering_only_tls_1_3_is_refused(pki: Path) -> None:
    credentials = load_v2g_credentials(pki)
    client = evcc_context(credentials.trust_anchor_path, minimum_version=TLS13, maximum_version=TLS13)
    got, seen = _run(secc_context(credentials), client)
    # The SECC answers the TLS 1.3-only ClientHello with a protocol_version alert (RFC 5246 E.1).
    assert isinstance(got, ssl.SSLError) and "PROTOCOL_VERSION" in str(got).upper()
    assert isinstance(seen, ssl.SSLError | ConnectionError)


@pytest.mark.parametrize(
    ("entry", "alert"), [(SECC_UNTRUSTED, "ALERT_UNKNOWN_CA"), (SECC_EXPIRED, "ALERT_CERTIFICATE_EXPIRED")]
)
def test_the_ev_refuses_a_chain_it_cannot_verify_and_says_why(pki: Path, entry: str, alert: str) -> None:
    credentials = load_v2g_credentials(pki, entry)
    got, seen = _run(secc_context(credentials), evcc_context(credentials.trust_anchor_path))
    assert isinstance(got, ssl.SSLError | ConnectionError)
    # RFC 5246 7.2: the fatal alert reached the SECC before the EV closed (AlertingSslObject).
    assert isinstance(seen, ssl.SSLError) and alert in str(seen)


def test_the_valid_chain_passes_the_same_ev(pki: Path) -> None:
    got, _ = _run(
        secc_context(load_v2g_credentials(pki, SECC)),
        evcc_context(load_v2g_credentials(pki).trust_anchor_path),
    )
    assert isinstance(got, NegotiatedTls)


def test_compliance_of_a_negotiated_session() -> None:
    assert v2g_compliant(NegotiatedTls("TLSv1.2", V2G_CIPHER_OPENSSL, 128))
    assert not v2g_compliant(NegotiatedTls("TLSv1.3", "TLS_AES_128_GCM_SHA256", 128))
    assert not v2g_compliant(NegotiatedTls("TLSv1.2", "ECDHE-ECDSA-AES128-CCM8", 128))
    with pytest.raises(TlsPolicyError, match="no TLS session"):
        assert_v2g_negotiated(ssl.create_default_context().wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO()))
