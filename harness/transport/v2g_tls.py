"""TLS for ISO 15118-2: the SECC's server context, the EVCC's client context, the negotiated-suite check.

ISO 15118-2 7.7.3 / 7.10.1 (as public sources state them): TLS 1.2; the SECC authenticates itself with a
certificate chain from a V2G root through the CPO sub-CAs (harness.pki.v2g); the EVCC verifies that chain
against the V2G roots it holds and presents no certificate of its own (the SECC does not authenticate the
EV in TLS); no host-name check, since an SECC has no name the EV could know beforehand.

The standard lists two cipher suites, both ECDSA with AES-128-CBC and SHA-256:

* TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 (0xC023), OpenSSL ``ECDHE-ECDSA-AES128-SHA256``: offered here;
* TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256 (0xC025), static ECDH: OpenSSL removed the static-ECDH suites in
  1.1.0, so no endpoint of this harness can offer or accept it (a DUT that insists on it fails the handshake,
  and the verdict names the suites the capture shows it offered).

Key logs (NSS format) and the negotiated-session record are :mod:`harness.transport.tls`'s, shared with
IEEE 2030.5.  The factories pin the version to TLS 1.2 on both ends (a peer offering only TLS 1.3 is
refused) and take overrides so a tester can present the wrong thing on purpose (an expired or untrusted
chain).
"""

from __future__ import annotations

import os
import ssl
from typing import Any

from harness.transport.tls import NegotiatedTls, TlsPolicyError, configure, negotiated

# ISO 15118-2 7.7.3.x: the suite this harness offers, in its three spellings.
V2G_CIPHER_OPENSSL = "ECDHE-ECDSA-AES128-SHA256"
V2G_CIPHER_IANA = "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"
V2G_CIPHER_ID = 0xC023
# ISO 15118-2 7.7.3.x: the static-ECDH suite the standard also lists; absent from OpenSSL >= 1.1.0.
V2G_STATIC_ECDH_CIPHER_IANA = "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256"
V2G_STATIC_ECDH_CIPHER_ID = 0xC025
# The suites the standard lists, by id (what a capture's ServerHello may carry from a compliant SECC).
V2G_CIPHER_IDS = (V2G_CIPHER_ID, V2G_STATIC_ECDH_CIPHER_ID)
# ISO 15118-2: TLS 1.2 (RFC 5246); on the wire 0x0303.
V2G_TLS_VERSION = ssl.TLSVersion.TLSv1_2
V2G_TLS_VERSION_NAME = "TLSv1.2"
V2G_TLS_VERSION_WIRE = 0x0303
# ECDHE and the certificates on secp256r1 (OpenSSL's name).
V2G_ECDH_CURVE = "prime256v1"


class AlertingSslObject(ssl.SSLObject):
    """An SSLObject that lets its fatal alert reach the peer when the handshake fails.

    RFC 5246 7.2: an endpoint that meets a fatal condition (a chain it cannot verify: unknown_ca,
    certificate_expired...) MUST send the alert before it closes.  OpenSSL writes the alert into the
    outgoing buffer, but asyncio's TLS layer closes the transport on the handshake's exception without
    sending that buffer.  This object reports the failure first as "wants to read", so asyncio sends what
    is buffered (the alert) and waits; the next handshake step (the peer's answer or its closing the
    connection) raises the stored failure."""

    failure: ssl.SSLError | None = None
    _outgoing: ssl.MemoryBIO | None = None

    @classmethod
    def _create(cls, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO, *args: Any, **kwargs: Any) -> Any:
        created = super()._create(incoming, outgoing, *args, **kwargs)  # type: ignore[misc]
        created._outgoing = outgoing
        return created

    def do_handshake(self) -> None:
        if self.failure is not None:
            raise self.failure
        try:
            super().do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise
        except ssl.SSLError as exc:
            if self._outgoing is None or not self._outgoing.pending:
                raise  # nothing to send (e.g. the peer's own alert ended the handshake)
            self.failure = exc
            raise ssl.SSLWantReadError("fatal alert pending") from exc


def _exact(ciphers: str) -> str:
    # CBC-SHA256 suites are inside OpenSSL's default security level: no @SECLEVEL change (unlike CCM_8).
    return ciphers


def secc_context(
    credentials: object,
    *,
    keylog_path: str | os.PathLike[str] | None = None,
    minimum_version: ssl.TLSVersion = V2G_TLS_VERSION,
    maximum_version: ssl.TLSVersion = V2G_TLS_VERSION,
    ciphers: str = V2G_CIPHER_OPENSSL,
) -> ssl.SSLContext:
    """The SECC's server context: presents ``credentials``' chain (leaf + CPO sub-CAs, e.g.
    :class:`harness.pki.v2g.V2gCredentials`), asks the EV for no certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.sslobject_class = AlertingSslObject
    context.verify_mode = ssl.CERT_NONE  # ISO 15118-2: no TLS client authentication of the EV
    return configure(
        context,
        credentials=credentials,
        certificate=True,
        trust_anchor=None,
        keylog_path=keylog_path,
        minimum_version=minimum_version,
        maximum_version=maximum_version,
        ciphers=ciphers,
        ecdh_curve=V2G_ECDH_CURVE,
        cipher_string=_exact,
    )


def evcc_context(
    trust_anchor: str | os.PathLike[str],
    *,
    keylog_path: str | os.PathLike[str] | None = None,
    minimum_version: ssl.TLSVersion = V2G_TLS_VERSION,
    maximum_version: ssl.TLSVersion = V2G_TLS_VERSION,
    ciphers: str = V2G_CIPHER_OPENSSL,
) -> ssl.SSLContext:
    """The EVCC's client context: verifies the SECC's chain to ``trust_anchor`` (the V2G root), no host
    name check, no client certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.sslobject_class = AlertingSslObject
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    return configure(
        context,
        credentials=None,
        certificate=False,
        trust_anchor=trust_anchor,
        keylog_path=keylog_path,
        minimum_version=minimum_version,
        maximum_version=maximum_version,
        ciphers=ciphers,
        ecdh_curve=V2G_ECDH_CURVE,
        cipher_string=_exact,
    )


def v2g_compliant(session: NegotiatedTls) -> bool:
    return session.version == V2G_TLS_VERSION_NAME and session.cipher == V2G_CIPHER_OPENSSL


def assert_v2g_negotiated(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> NegotiatedTls:
    """The negotiated session, or TlsPolicyError naming what was negotiated instead."""
    session = negotiated(ssl_object)
    if not v2g_compliant(session):
        raise TlsPolicyError(
            f"negotiated {session.version} {session.cipher}; ISO 15118-2 here requires "
            f"{V2G_TLS_VERSION_NAME} {V2G_CIPHER_IANA} (0x{V2G_CIPHER_ID:04X}, OpenSSL {V2G_CIPHER_OPENSSL})"
        )
    return session


def keylog_from_environment() -> str | None:
    """The NSS key log a reference device writes when started with ``SSLKEYLOGFILE`` set (the variable
    OpenSSL-based tools share), so that its own captures decrypt too."""
    return os.environ.get("SSLKEYLOGFILE") or None
