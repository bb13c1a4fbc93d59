"""Check builders for the control pilot (IEC 61851-1 / SAE J1772, ISO 15118-3 5 % rules).

Every pilot change is a PILOT record on the captured link: ``EvseOutput`` records are the EVSE side's
changes, ``VehicleState`` records the vehicle side's; the tester's records carry its MAC as ``src``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from harness.verdict.checks.common import Selector, ne, select
from harness.verdict.checks.requirements import requirement

PILOT: Final = "PILOT"
EVSE_OUTPUT: Final = "EvseOutput"
VEHICLE_STATE: Final = "VehicleState"

PILOT_EVSE_01 = requirement("PILOT-EVSE-01")
PILOT_EVSE_02 = requirement("PILOT-EVSE-02")
PILOT_EVSE_03 = requirement("PILOT-EVSE-03")
PILOT_EVSE_04 = requirement("PILOT-EVSE-04")
PILOT_EVSE_05 = requirement("PILOT-EVSE-05")
PILOT_EVSE_06 = requirement("PILOT-EVSE-06")
PILOT_EV_01 = requirement("PILOT-EV-01")
PILOT_EV_02 = requirement("PILOT-EV-02")
PILOT_EV_03 = requirement("PILOT-EV-03")
PILOT_EV_04 = requirement("PILOT-EV-04")


@dataclass(frozen=True, slots=True)
class PilotSides:
    """The tester's pilot records carry its MAC; the DUT's any other."""

    tester_mac: str

    def from_tester(self, message: str, **where: Any) -> Selector:
        return select(PILOT, message, where={"src": self.tester_mac, **where})

    def from_dut(self, message: str, **where: Any) -> Selector:
        return select(PILOT, message, where={"src": ne(self.tester_mac), **where})


def vehicle_state(**where: Any) -> Selector:
    """A vehicle-side pilot record from anyone."""
    return select(PILOT, VEHICLE_STATE, where=where or None)
