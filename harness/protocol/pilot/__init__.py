"""Control pilot (SAE J1772 / IEC 61851-1 Annex A, with the ISO 15118-3 rules for 5 %), sans-I/O.

* :mod:`.j1772`: the facts as data: states A-F and their voltage ranges, duty cycle <-> ampacity, the
  pilot timers (registered, so a lab overrides them through PIXIT);
* :mod:`.evse`: :class:`EvsePilot`, the EVSE's pilot logic as a core on the protocol kernel.

The wire formats (the simulated pilot's records, the STP_CPSTATE.IND vendor MME) are in
:mod:`harness.codec.pilot`; the pilot box drivers (asyncio, loaded by name through the entry point group
``vgi.pilot_drivers``) in :mod:`harness.transport.pilot`.  This package re-exports its modules' names,
so ``from harness.protocol.pilot import PilotState`` works.
"""

from harness.protocol.pilot.evse import (
    TIMER_STEP_EF,
    BeginMatching,
    DeEnergize,
    EndMatching,
    Energize,
    EnergyAuthorized,
    EvsePilot,
    EvsePilotConfig,
    NominalTransition,
    OutputOnWire,
    PilotAction,
    PilotEvent,
    PilotFault,
    SetOutput,
    SlacFailed,
    SlacMatched,
    UseNominalDuty,
    VehicleStateMeasured,
)
from harness.protocol.pilot.j1772 import *  # noqa: F403 (the J1772 facts, listed in its __all__)
from harness.protocol.pilot.j1772 import __all__ as _j1772_names

__all__ = [
    *_j1772_names,
    "BeginMatching",
    "DeEnergize",
    "EndMatching",
    "Energize",
    "EnergyAuthorized",
    "EvsePilot",
    "EvsePilotConfig",
    "NominalTransition",
    "OutputOnWire",
    "PilotAction",
    "PilotEvent",
    "PilotFault",
    "SetOutput",
    "SlacFailed",
    "SlacMatched",
    "TIMER_STEP_EF",
    "UseNominalDuty",
    "VehicleStateMeasured",
]
