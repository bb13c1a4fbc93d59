"""TLS for IEEE 2030.5: context factories, the negotiated-suite check and NSS key logs.

IEEE 2030.5-2018 clause 6.11 (shared/REFERENCE.md section 7): TLS 1.2 only, cipher suite
TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (0xC0AE), ECDHE on secp256r1, certificates on both sides
(ECDSA P-256, SERCA -> MCA -> MICA -> device).  Device certificates carry no DNS names, so the
client does not check host names: a peer is accepted for its chain to the SERCA and identified by
its LFDI (:func:`peer_lfdi`).

Python's default contexts exclude AES-CCM and allow TLS 1.3, which would silently win; these
factories pin version and suite, and :func:`assert_negotiated` checks what a connection actually
negotiated, because a harness verdict may not rest on configuration alone.

Every context can write an NSS key log (``keylog_path``) so captures of the run can be decrypted
with ``tshark -o tls.keylog_file:PATH``.

The factories take overrides (``minimum_version``, ``ciphers``, ``certificate``...) so a tester can
offer exactly the wrong thing on purpose (TLS 1.3 only, another suite, no client certificate).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.pki.identity import lfdi_from_der

# IEEE 2030.5-2018 clause 6.11.3: the one mandatory cipher suite, in its three spellings.
SEP2_CIPHER_OPENSSL = "ECDHE-ECDSA-AES128-CCM8"
SEP2_CIPHER_IANA = "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8"
SEP2_CIPHER_ID = 0xC0AE
# IEEE 2030.5-2018 clause 6.11.3: TLS 1.2 (RFC 5246) only.
SEP2_TLS_VERSION = ssl.TLSVersion.TLSv1_2
SEP2_TLS_VERSION_NAME = "TLSv1.2"
# IEEE 2030.5-2018 clause 6.11.3: ECDHE over secp256r1 (OpenSSL's name for it).
SEP2_ECDH_CURVE = "prime256v1"
# OpenSSL 3.2 moved CCM_8 (64-bit tag) below the default security level; level 0 re-enables it.
_SECLEVEL_0_FROM = (3, 2)


class TlsPolicyError(ssl.SSLError):
    """A connection negotiated something other than the IEEE 2030.5 version and suite."""


@dataclass(frozen=True, slots=True)
class NegotiatedTls:
    """What a connection negotiated, for evidence and for :func:`assert_negotiated`."""

    version: str
    cipher: str
    bits: int

    @property
    def compliant(self) -> bool:
        return self.version == SEP2_TLS_VERSION_NAME and self.cipher == SEP2_CIPHER_OPENSSL

    def __str__(self) -> str:
        return f"{self.version} {self.cipher} ({self.bits}-bit)"


@dataclass(frozen=True, slots=True)
class TlsCredentials:
    """The files a TLS endpoint needs: its chain (device + MICA + MCA), key, and the SERCA it trusts.

    :class:`harness.pki.store.DeviceIdentity` has the same attributes and can be passed instead.
    """

    chain_path: Path
    key_path: Path
    trust_anchor_path: Path


def sep2_cipher_string(ciphers: str = SEP2_CIPHER_OPENSSL) -> str:
    """An OpenSSL cipher string for ``ciphers`` that this OpenSSL build will actually offer."""
    if ssl.OPENSSL_VERSION_INFO[:2] >= _SECLEVEL_0_FROM and "@SECLEVEL" not in ciphers:
        return f"{ciphers}:@SECLEVEL=0"
    return ciphers


def configure(
    context: ssl.SSLContext,
    *,
    credentials: TlsCredentials | object | None,
    certificate: bool,
    trust_anchor: str | os.PathLike[str] | None,
    keylog_path: str | os.PathLike[str] | None,
    minimum_version: ssl.TLSVersion,
    maximum_version: ssl.TLSVersion,
    ciphers: str,
    ecdh_curve: str,
    cipher_string: Callable[[str], str] = sep2_cipher_string,
) -> ssl.SSLContext:
    """Pin version, suites and curve of ``context``; load its chain, trust anchor and key log.  Shared by
    the IEEE 2030.5 factories here and the ISO 15118-2 ones (harness.transport.v2g_tls), which pass their
    own ``cipher_string``."""
    context.minimum_version = minimum_version
    context.maximum_version = maximum_version
    context.set_ciphers(cipher_string(ciphers))
    context.set_ecdh_curve(ecdh_curve)
    # No session tickets or renegotiation needed; compression is a known attack surface.
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    if credentials is not None and certificate:
        context.load_cert_chain(
            certfile=os.fspath(credentials.chain_path),  # type: ignore[attr-defined]
            keyfile=os.fspath(credentials.key_path),  # type: ignore[attr-defined]
        )
    anchor = trust_anchor
    if anchor is None and credentials is not None:
        anchor = credentials.trust_anchor_path  # type: ignore[attr-defined]
    if anchor is not None:
        context.load_verify_locations(cafile=os.fspath(anchor))
    if keylog_path is not None:
        path = Path(keylog_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        context.keylog_filename = os.fspath(path)
    return context


def server_context(
    credentials: TlsCredentials | object | None,
    *,
    trust_anchor: str | os.PathLike[str] | None = None,
    keylog_path: str | os.PathLike[str] | None = None,
    require_client_certificate: bool = True,
    minimum_version: ssl.TLSVersion = SEP2_TLS_VERSION,
    maximum_version: ssl.TLSVersion = SEP2_TLS_VERSION,
    ciphers: str = SEP2_CIPHER_OPENSSL,
    ecdh_curve: str = SEP2_ECDH_CURVE,
) -> ssl.SSLContext:
    """A server context: presents ``credentials``' chain, requires a client chain to the SERCA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # IEEE 2030.5 clause 6.11.2: mutual authentication; a client without a certificate is refused.
    context.verify_mode = ssl.CERT_REQUIRED if require_client_certificate else ssl.CERT_NONE
    return configure(
        context,
        credentials=credentials,
        certificate=True,
        trust_anchor=trust_anchor,
        keylog_path=keylog_path,
        minimum_version=minimum_version,
        maximum_version=maximum_version,
        ciphers=ciphers,
        ecdh_curve=ecdh_curve,
    )


def client_context(
    credentials: TlsCredentials | object | None,
    *,
    trust_anchor: str | os.PathLike[str] | None = None,
    keylog_path: str | os.PathLike[str] | None = None,
    present_certificate: bool = True,
    minimum_version: ssl.TLSVersion = SEP2_TLS_VERSION,
    maximum_version: ssl.TLSVersion = SEP2_TLS_VERSION,
    ciphers: str = SEP2_CIPHER_OPENSSL,
    ecdh_curve: str = SEP2_ECDH_CURVE,
) -> ssl.SSLContext:
    """A client context: presents ``credentials``' chain, verifies the server's chain to the SERCA.

    No host name check: 2030.5 device certificates have no DNS names (REFERENCE.md section 7).
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    return configure(
        context,
        credentials=credentials,
        certificate=present_certificate,
        trust_anchor=trust_anchor,
        keylog_path=keylog_path,
        minimum_version=minimum_version,
        maximum_version=maximum_version,
        ciphers=ciphers,
        ecdh_curve=ecdh_curve,
    )


def negotiated(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> NegotiatedTls:
    """What ``ssl_object`` negotiated; TlsPolicyError when the handshake has not completed."""
    cipher = ssl_object.cipher()
    version = ssl_object.version()
    if cipher is None or version is None:
        raise TlsPolicyError("no TLS session: the handshake has not completed")
    name, _protocol, bits = cipher
    return NegotiatedTls(version=version, cipher=name, bits=int(bits or 0))


def assert_negotiated(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> NegotiatedTls:
    """The negotiated session, or TlsPolicyError naming what was negotiated instead."""
    session = negotiated(ssl_object)
    if not session.compliant:
        raise TlsPolicyError(
            f"negotiated {session.version} {session.cipher}; IEEE 2030.5 requires "
            f"{SEP2_TLS_VERSION_NAME} {SEP2_CIPHER_IANA} "
            f"(0x{SEP2_CIPHER_ID:04X}, OpenSSL {SEP2_CIPHER_OPENSSL})"
        )
    return session


def peer_certificate(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> bytes | None:
    """The peer's DER certificate, or None when it presented none."""
    return ssl_object.getpeercert(binary_form=True)


def peer_lfdi(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> str | None:
    """The peer's LFDI (IEEE 2030.5 clause 6.3.4), or None when it presented no certificate."""
    der = peer_certificate(ssl_object)
    return None if der is None else lfdi_from_der(der)
