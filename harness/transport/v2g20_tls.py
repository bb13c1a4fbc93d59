"""TLS 1.3 for ISO 15118-20: the SECC's server context, the EVCC's client context, the negotiated-suite check.

What ISO 15118-20:2022 clause 7.7.3 prescribes (requirement ids and tables as public summaries quote them:
the standard's 7.7.3.4 text on Tables 6 and 8; Tinkerforge esp32-firmware
``software/src/modules/iso15118/isotls.cpp``; EVerest pull request #2683 "separate SECC leaf certificates
for ISO 15118-2 and -20"):

* TLS 1.3 (RFC 8446) for every -20 session ([V2G20-1264], [V2G20-1235]); on TLS 1.2 or below neither side
  may choose -20 ([V2G20-1237], [V2G20-2356]); the SECC is the TLS server ([V2G20-2374]);
* cipher suites, Table 6, in this order of preference, both mandatory on both sides ([V2G20-2458],
  [V2G20-2459], [V2G20-1856], [V2G20-1857]): TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256 (not
  TLS 1.3's own mandatory TLS_AES_128_GCM_SHA256);
* named groups, Table 7 ([V2G20-1634], [V2G20-2460]): secp521r1, x448;
* signature algorithms, Table 8 ([V2G20-1667]): ecdsa_secp521r1_sha512, ed448 (certificates on secp521r1,
  [V2G20-2674], or Ed448, [V2G20-2319]; harness.pki.v2g20);
* mutual authentication: the SECC always presents its chain (leaf + CPO sub-CAs, not the root,
  [V2G20-2399]) and always sends a CertificateRequest ([V2G20-2400]); the EVCC answers with its vehicle
  certificate chain ([V2G20-2339], under an OEM or V2G root, [V2G20-2331]). No host-name check: an SECC has
  no name the EV could know beforehand.

What OpenSSL 3.0 through Python's ``ssl`` (3.11) can and cannot do of it:

* TLS 1.3 only: yes (minimum = maximum version).
* Table 6: OpenSSL's default TLS 1.3 suites are TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256,
  TLS_AES_128_GCM_SHA256 in that order, and a Python server context prefers its own order, so the first
  Table 6 suite wins against any peer that offers it.  Python has no ``SSL_CTX_set_ciphersuites``
  (``set_ciphers`` governs TLS 1.2 only), so TLS_AES_128_GCM_SHA256 cannot be withdrawn from the offer and
  neither side can be made to offer CHACHA20 alone: a peer that offers only AES-128-GCM gets it, and
  :func:`assert_iso20_negotiated` reports that as outside Table 6.
* Table 7: ``set_ecdh_curve`` installs exactly one group (``SSL_CTX_set1_groups`` with one entry), so a
  context offers and accepts secp521r1 (the default here) or x448 (``group="X448"``), never both at once.
* Table 8: Python cannot set the signature_algorithms list (no ``SSL_CTX_set1_sigalgs_list``): the
  ClientHello and CertificateRequest advertise OpenSSL's default list (17 schemes, Table 8's among them).
  What is actually signed follows from the key: TLS 1.3 binds a P-521 key to ecdsa_secp521r1_sha512 and
  an Ed448 key to ed448, so with either hierarchy of the -20 PKI every CertificateVerify uses a Table 8
  algorithm (tests/transport/test_v2g20_tls.py reads both, and the key-share group, from a capture).
* The CertificateRequest carries no certificate_authorities list ([V2G20-2401]): Python loads trust
  anchors into the verify store but has no ``SSL_CTX_set_client_CA_list``.
* OCSP stapling (status_request, [V2G20-2372], [V2G20-2388]) is not available in Python's ``ssl``.

Key logs (NSS format, what ``SSLKEYLOGFILE`` writes) come from :func:`harness.transport.tls.configure`, so
every endpoint's sessions can be decrypted offline (capture.tls_v2g).
"""

from __future__ import annotations

import os
import ssl

from harness.codec.v2g.tls20 import ISO20_CIPHER_IDS as ISO20_CIPHER_IDS
from harness.codec.v2g.tls20 import ISO20_GROUP_IDS as ISO20_GROUP_IDS
from harness.codec.v2g.tls20 import ISO20_SIGNATURE_ALGORITHM_IDS as ISO20_SIGNATURE_ALGORITHM_IDS
from harness.codec.v2g.tls20 import ISO20_TLS_VERSION_WIRE as ISO20_TLS_VERSION_WIRE
from harness.transport.tls import NegotiatedTls, TlsPolicyError, configure, negotiated
from harness.transport.v2g_tls import V2G_CIPHER_OPENSSL, AlertingSslObject

# ISO 15118-20 [V2G20-1264]: TLS 1.3 (RFC 8446); its wire code points (and Tables 6-8's) live in
# harness.codec.v2g.tls20, re-exported here.
ISO20_TLS_VERSION = ssl.TLSVersion.TLSv1_3
ISO20_TLS_VERSION_NAME = "TLSv1.3"
# ISO 15118-20 Table 6, most preferred first (OpenSSL names TLS 1.3 suites by their IANA names).
ISO20_CIPHER_SUITES = ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
# ISO 15118-20 Table 7, most preferred first: OpenSSL's names.
ISO20_GROUPS = ("secp521r1", "X448")
# ISO 15118-20 Table 8: RFC 8446 signature scheme names.
ISO20_SIGNATURE_ALGORITHMS = ("ecdsa_secp521r1_sha512", "ed448")


def _tls12_suites(ciphers: str) -> str:
    # ``set_ciphers`` only governs TLS 1.2; with the version pinned to TLS 1.3 it never applies.  A tester
    # that opens TLS 1.2 on purpose ([V2G20-2359] backwards compatibility) gets the ISO 15118-2 suite.
    return ciphers


def secc_context(
    credentials: object,
    *,
    trust_anchor: str | os.PathLike[str] | None = None,
    keylog_path: str | os.PathLike[str] | None = None,
    require_vehicle_certificate: bool = True,
    group: str = ISO20_GROUPS[0],
    minimum_version: ssl.TLSVersion = ISO20_TLS_VERSION,
    maximum_version: ssl.TLSVersion = ISO20_TLS_VERSION,
) -> ssl.SSLContext:
    """The SECC's server context: presents ``credentials``' chain (e.g. :class:`harness.pki.v2g20.
    V2g20Credentials` of the ``secc`` entry) and requests the EVCC's certificate ([V2G20-2400]), verified
    against ``trust_anchor`` (default: the credentials' own, the OEM and V2G roots).  With
    ``require_vehicle_certificate=False`` the request is still sent but an EVCC without a certificate
    is let through (a tester observing what a DUT EV does)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.sslobject_class = AlertingSslObject
    context.verify_mode = ssl.CERT_REQUIRED if require_vehicle_certificate else ssl.CERT_OPTIONAL
    return configure(
        context,
        credentials=credentials,
        certificate=True,
        trust_anchor=trust_anchor,
        keylog_path=keylog_path,
        minimum_version=minimum_version,
        maximum_version=maximum_version,
        ciphers=V2G_CIPHER_OPENSSL,
        ecdh_curve=group,
        cipher_string=_tls12_suites,
    )


def evcc_context(
    credentials: object | None,
    *,
    trust_anchor: str | os.PathLike[str] | None = None,
    keylog_path: str | os.PathLike[str] | None = None,
    present_certificate: bool = True,
    group: str = ISO20_GROUPS[0],
    minimum_version: ssl.TLSVersion = ISO20_TLS_VERSION,
    maximum_version: ssl.TLSVersion = ISO20_TLS_VERSION,
) -> ssl.SSLContext:
    """The EVCC's client context: presents ``credentials``' vehicle certificate chain when the SECC asks
    (``present_certificate=False``: none, to test an SECC's refusal), verifies the SECC's chain against
    ``trust_anchor`` (default: the credentials' own, the V2G root); no host-name check."""
    if credentials is None and trust_anchor is None:
        raise ValueError("the EVCC needs a trust anchor (the V2G root) to verify the SECC")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.sslobject_class = AlertingSslObject
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
        ciphers=V2G_CIPHER_OPENSSL,
        ecdh_curve=group,
        cipher_string=_tls12_suites,
    )


def iso20_compliant(session: NegotiatedTls) -> bool:
    return session.version == ISO20_TLS_VERSION_NAME and session.cipher in ISO20_CIPHER_SUITES


def assert_iso20_negotiated(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> NegotiatedTls:
    """The negotiated session, or TlsPolicyError naming what was negotiated instead."""
    session = negotiated(ssl_object)
    if not iso20_compliant(session):
        raise TlsPolicyError(
            f"negotiated {session.version} {session.cipher}; ISO 15118-20 requires {ISO20_TLS_VERSION_NAME} "
            f"with {' or '.join(ISO20_CIPHER_SUITES)} (Table 6)"
        )
    return session
