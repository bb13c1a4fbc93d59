"""ISO 15118-20 7.7.3.4's TLS parameters by their wire code points (RFC 8446 / IANA TLS registries): what
a ClientHello offers and a ServerHello, CertificateRequest or CertificateVerify carries.  The TLS
endpoints (harness.transport.v2g20_tls) and the capture-only checks (harness.verdict.checks.
iso15118_20_tls) both read them here, the one place they live."""

from __future__ import annotations

from typing import Final

# [V2G20-1264]: TLS 1.3; the supported_versions value of a TLS 1.3 ServerHello.
ISO20_TLS_VERSION_WIRE: Final = 0x0304
# Table 6, most preferred first: TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256.
ISO20_CIPHER_IDS: Final = (0x1302, 0x1303)
# Table 7, most preferred first: secp521r1, x448 (supported_groups / key_share NamedGroup).
ISO20_GROUP_IDS: Final = (0x0019, 0x001E)
# Table 8: ecdsa_secp521r1_sha512, ed448 (SignatureScheme).
ISO20_SIGNATURE_ALGORITHM_IDS: Final = (0x0603, 0x0808)
