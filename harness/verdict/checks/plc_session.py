"""Check builders for a whole DC session on one PLC link: pilot, SLAC, SDP and DIN in order."""

from __future__ import annotations

from typing import Any

from harness.protocol.pilot import DIGITAL_COMMUNICATION_MAX_DUTY, DIGITAL_COMMUNICATION_MIN_DUTY
from harness.verdict.checks.common import Item, Selector, between, ne, repeated, select
from harness.verdict.checks.pilot import EVSE_OUTPUT, PILOT, VEHICLE_STATE
from harness.verdict.checks.requirements import requirement

PLC_SESSION_01 = requirement("PLC-SESSION-01")


def session_order(tester_mac: str, tester_is_ev: bool) -> tuple[Item, ...]:
    """Plug-in, the 5 % offer, SLAC, SDP and DIN in order; every step may repeat (retries, the
    CurrentDemand loop) and must occur at least once."""
    tester: dict[str, Any] = {"src": tester_mac}
    dut: dict[str, Any] = {"src": ne(tester_mac)}
    ev, evse = (tester, dut) if tester_is_ev else (dut, tester)
    # Only the pilot records of the plug-in phase take part in the order (state B, then 5 % in state B
    # before any energy); later ones (state C, energizing, unplugging) belong to other checks.
    plugged_in = select(PILOT, VEHICLE_STATE, where={**ev, "vehicle": "B"})
    offers_5 = select(
        PILOT,
        EVSE_OUTPUT,
        where={
            **evse,
            "vehicle": "B",
            "energized": False,
            # "ne" first: +12 V records carry no duty cycle, and a range cannot compare None.
            "duty_percent": {
                **ne(None),
                **between(DIGITAL_COMMUNICATION_MIN_DUTY, DIGITAL_COMMUNICATION_MAX_DUTY),
            },
        },
    )
    selectors: list[Selector] = [
        plugged_in,
        offers_5,
        select("SLAC", "CM_SLAC_PARM.REQ", where=ev),
        select("SLAC"),  # sounding, attenuation, CM_SLAC_MATCH.REQ (and repetitions)
        select("SLAC", "CM_SLAC_MATCH.CNF", where=evse),
        select("SDP", "SECCDiscoveryReq"),
        select("SDP"),  # the answers and any further requests
        select("AppProtocol"),
        select("DIN"),
    ]
    return tuple(repeated(s) for s in selectors)
