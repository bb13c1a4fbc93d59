"""Check builders for ISO 15118-2 over TLS: the SDP security byte, the TLS handshake facts and the V2G
messages inside TLS, all read from the capture (capture/tls_http.py for the handshake, capture/tls_v2g.py
for the decrypted V2GTP/EXI, both with the capture's key log)."""

from __future__ import annotations

from typing import Final

from harness.codec.v2g.sdp import SECURITY_NAMES, SECURITY_TLS
from harness.verdict.checks.common import Selector, one_of, select
from harness.verdict.checks.requirements import requirement
from harness.verdict.checks.sdp import SDP

TLS: Final = "TLS"
# ISO 15118-2 7.7.3: TLS 1.2 on the wire (RFC 5246), and the two cipher suites the standard lists:
# TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 (0xC023) and TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256 (0xC025).
TLS_1_2: Final = "0x0303"
ISO2_CIPHER_SUITES: Final = (0xC023, 0xC025)
# RFC 5246 7.2: alerts an EV sends when it cannot verify the SECC's chain.
ALERT_BAD_CERTIFICATE: Final = 42
ALERT_CERTIFICATE_EXPIRED: Final = 45
ALERT_UNKNOWN_CA: Final = 48
ALERT_NAMES: Final = {
    "bad_certificate": ALERT_BAD_CERTIFICATE,
    "certificate_expired": ALERT_CERTIFICATE_EXPIRED,
    "unknown_ca": ALERT_UNKNOWN_CA,
}
# The SDP security byte's name on the timeline.
SECURITY_TLS_NAME: Final = SECURITY_NAMES[SECURITY_TLS]
# The V2G message sets a session over TLS may carry (timeline protocol labels).
V2G_PROTOCOLS: Final = ("AppProtocol", "ISO-2", "DIN")

ISO2_TLS_SECC_01 = requirement("ISO2-TLS-SECC-01")
ISO2_TLS_SECC_02 = requirement("ISO2-TLS-SECC-02")
ISO2_TLS_SECC_03 = requirement("ISO2-TLS-SECC-03")
ISO2_TLS_EVCC_01 = requirement("ISO2-TLS-EVCC-01")
ISO2_TLS_EVCC_02 = requirement("ISO2-TLS-EVCC-02")


def discovery(message: str, sender: str) -> Selector:
    return select(SDP, message, sender=sender)


def tls_granted() -> dict[str, str]:
    return {"Security": SECURITY_TLS_NAME}


def server_hello(sender: str, port: int | None = None) -> Selector:
    """The ServerHello of ``sender`` (from ``port``, the V2G TLS port, when given)."""
    return select(TLS, "ServerHello", sender=sender, where={"sport": port} if port else None)


def client_hello(sender: str, port: int | None = None) -> Selector:
    """The ClientHello of ``sender`` (to ``port`` when given)."""
    return select(TLS, "ClientHello", sender=sender, where={"dport": port} if port else None)


def negotiated_iso2() -> dict[str, object]:
    """What a ServerHello of a compliant ISO 15118-2 TLS session says."""
    return {"version": TLS_1_2, "cipher": one_of(ISO2_CIPHER_SUITES)}


def alert(sender: str, descriptions: tuple[int, ...]) -> Selector:
    return select(TLS, "Alert", sender=sender, where={"description": one_of(descriptions)})


def v2g_on_port(
    protocol: str, message: str | None, sender: str, *, sport: int | None = None, dport: int | None = None
) -> Selector:
    """``sender``'s V2G messages of ``protocol`` on the connection to or from a port."""
    where = {key: value for key, value in (("sport", sport), ("dport", dport)) if value}
    return select(protocol, message, sender=sender, where=where or None)
