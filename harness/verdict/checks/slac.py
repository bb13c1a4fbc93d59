"""Check builders for SLAC (ISO 15118-3 Annex A) on the PLC link.

Tester and DUT frames are told apart by MAC: the tester's MACs are known, the DUT's is the one that
took part in the matching, or else "anything but the tester's first MAC".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from harness.verdict.checks.common import Interval, Selector, between, ne, one_of, select
from harness.verdict.checks.requirements import requirement

SLAC: Final = "SLAC"
ECHO: Final = "ECHO"

# ISO 15118-3 requirements the SLAC checks cite (harness/verdict/requirements/slac.yaml).
SLAC_EVSE_01 = requirement("SLAC-EVSE-01")
SLAC_EVSE_02 = requirement("SLAC-EVSE-02")
SLAC_EVSE_03 = requirement("SLAC-EVSE-03")
SLAC_EVSE_04 = requirement("SLAC-EVSE-04")
SLAC_EVSE_05 = requirement("SLAC-EVSE-05")
SLAC_EVSE_06 = requirement("SLAC-EVSE-06")
SLAC_EVSE_07 = requirement("SLAC-EVSE-07")
SLAC_EVSE_08 = requirement("SLAC-EVSE-08")
SLAC_EVSE_09 = requirement("SLAC-EVSE-09")
SLAC_EVSE_10 = requirement("SLAC-EVSE-10")
SLAC_EV_01 = requirement("SLAC-EV-01")
SLAC_EV_02 = requirement("SLAC-EV-02")
SLAC_EV_03 = requirement("SLAC-EV-03")
SLAC_EV_04 = requirement("SLAC-EV-04")
SLAC_EV_05 = requirement("SLAC-EV-05")
SLAC_EV_06 = requirement("SLAC-EV-06")
SLAC_EV_07 = requirement("SLAC-EV-07")
SLAC_EV_08 = requirement("SLAC-EV-08")
SLAC_EV_09 = requirement("SLAC-EV-09")
SLAC_EV_10 = requirement("SLAC-EV-10")
SLAC_LINK_01 = requirement("SLAC-LINK-01")
SLAC_LINK_02 = requirement("SLAC-LINK-02")


@dataclass(frozen=True, slots=True)
class SlacSides:
    """Who is who on the PLC link: the tester's MACs (first: the one plugged in) and, once known,
    the DUT's."""

    tester_macs: Sequence[str]
    dut_mac: str | None = None

    @property
    def tester_mac(self) -> str:
        return self.tester_macs[0]

    def from_tester(self, message: str, **where: Any) -> Selector:
        return select(SLAC, message, where={"src": one_of(self.tester_macs), **where})

    def from_dut(self, message: str, **where: Any) -> Selector:
        src: Any = self.dut_mac if self.dut_mac else ne(self.tester_mac)
        return select(SLAC, message, where={"src": src, **where})


def slac(message: str, **where: Any) -> Selector:
    """A SLAC message from anyone."""
    return select(SLAC, message, where=where or None)


def echo_request(payload: bytes) -> Selector:
    """The tester's UDP echo probe carrying ``payload``."""
    return select(ECHO, "request", where={"payload": payload.hex()})


def echo_reply() -> Selector:
    return select(ECHO, "reply")


# ISO 15118-3 A.9.2.6: a CM_VALIDATE.REQ Timer of 1..255 (x 100 ms) opens the toggle window; 0 only
# asks whether the EVSE is ready.
VALIDATE_WINDOW_TIMER: Final = between(1, 255)


def repetitions(selector: Selector, min_s: float, tolerance_s: float) -> Interval:
    """Repetitions of ``selector`` at least ``min_s`` (TT_match_response) apart."""
    return Interval(selector, min_s=min_s, tolerance_s=tolerance_s)
