"""Check builders for IEEE 2030.5 over HTTP/TLS (the decrypted timeline of capture/tls_http.py)."""

from __future__ import annotations

from typing import Any, Final

from harness.verdict.checks.common import Selector, Where, between, select
from harness.verdict.checks.requirements import requirement

HTTP: Final = "HTTP"
TLS: Final = "TLS"
# IEEE 2030.5 discovery: DNS-SD over mDNS (harness/codec/mdns.py), messages "query" and "response".
MDNS: Final = "MDNS"

# TLS: IEEE 2030.5 12.3.3 mandates TLS 1.2 (0x0303) with TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 (0xC0AE);
# 0x00FF is the renegotiation SCSV a client may add.
TLS_1_2: Final = "0x0303"
TLS_1_3: Final = "0x0304"
SEP2_CIPHER_SUITE: Final = 0xC0AE
RENEGOTIATION_SCSV: Final = 0xFF
HTTP_OK: Final = 200
HTTP_FORBIDDEN: Final = 403
# Any HTTP status: a response, not a request.
HTTP_STATUS_RANGE: Final = between(100, 599)

SEP2_CLIENT_01 = requirement("SEP2-CLIENT-01")
SEP2_CLIENT_02 = requirement("SEP2-CLIENT-02")
SEP2_CLIENT_03 = requirement("SEP2-CLIENT-03")
SEP2_CLIENT_04 = requirement("SEP2-CLIENT-04")
SEP2_DISC_01 = requirement("SEP2-DISC-01")
SEP2_DISC_02 = requirement("SEP2-DISC-02")
SEP2_EV_02 = requirement("SEP2-EV-02")
SEP2_EV_03 = requirement("SEP2-EV-03")
SEP2_EV_04 = requirement("SEP2-EV-04")
SEP2_EV_05 = requirement("SEP2-EV-05")
SEP2_EV_06 = requirement("SEP2-EV-06")
SEP2_EV_07 = requirement("SEP2-EV-07")
SEP2_METER_01 = requirement("SEP2-METER-01")
SEP2_METER_02 = requirement("SEP2-METER-02")
SEP2_SERVER_01 = requirement("SEP2-SERVER-01")
SEP2_SERVER_02 = requirement("SEP2-SERVER-02")
SEP2_SERVER_03 = requirement("SEP2-SERVER-03")
SEP2_SERVER_04 = requirement("SEP2-SERVER-04")
SEP2_SERVER_05 = requirement("SEP2-SERVER-05")
SEP2_TLS_01 = requirement("SEP2-TLS-01")
SEP2_TLS_02 = requirement("SEP2-TLS-02")
SEP2_TLS_03 = requirement("SEP2-TLS-03")
SEP2_TLS_04 = requirement("SEP2-TLS-04")


def http(
    message: str | None = None,
    *,
    sender: str | None = None,
    error: bool | None = None,
    where: Where | None = None,
) -> Selector:
    """HTTP events: ``message`` is "METHOD /path" for a request, "STATUS Root" for a response."""
    return select(HTTP, message, sender=sender, error=error, where=where)


def request(method: str, path: str, *, sender: str | None = None, where: Where | None = None) -> Selector:
    return http(f"{method} {path}", sender=sender, where=where)


def tls(message: str, sender: str, **where: Any) -> Selector:
    return select(TLS, message, sender=sender, where=where or None)


def mdns(message: str, *, sender: str | None = None, where: Where | None = None) -> Selector:
    """mDNS datagrams: ``query`` or ``response`` (fields as harness/codec/mdns.py summarises them)."""
    return select(MDNS, message, sender=sender, where=where)
