"""Check builders for SECC discovery (SDP, ISO 15118-2 7.10 / DIN SPEC 70121 8.7.2)."""

from __future__ import annotations

from typing import Any, Final

from harness.verdict.checks.common import Selector, malformed, select
from harness.verdict.checks.requirements import requirement

SDP: Final = "SDP"

SDP_SECC_01 = requirement("SDP-SECC-01")
SDP_SECC_02 = requirement("SDP-SECC-02")
SDP_SECC_03 = requirement("SDP-SECC-03")
SDP_SECC_04 = requirement("SDP-SECC-04")
SDP_SECC_05 = requirement("SDP-SECC-05")
SDP_EVCC_01 = requirement("SDP-EVCC-01")
SDP_EVCC_02 = requirement("SDP-EVCC-02")
SDP_EVCC_03 = requirement("SDP-EVCC-03")
SDP_EVCC_04 = requirement("SDP-EVCC-04")


def discovery_request(sender: str | None = None) -> Selector:
    return select(SDP, "SECCDiscoveryReq", sender=sender)


def discovery_response(sender: str | None = None) -> Selector:
    return select(SDP, "SECCDiscoveryRes", sender=sender)


def malformed_sdp(sender: str) -> Selector:
    return malformed(SDP, sender)


def tcp_connect(sender: str, **where: Any) -> Selector:
    """A TCP SYN (the V2G connection after discovery)."""
    return select("TCP", "SYN", sender=sender, where=where or None)
