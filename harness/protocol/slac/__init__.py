"""SLAC (ISO 15118-3 signal level attenuation characterization), sans-I/O: EV and EVSE cores on the
kernel of :mod:`harness.protocol.core` (whose events and actions they use; the SLAC-only ones are here)."""

from harness.protocol.slac.common import (
    AttemptFailed,
    Ignored,
    LinkLost,
    Matched,
    MatchFailed,
    Outcome,
    PilotStateChanged,
    SetKey,
    SlacAction,
    SlacEvent,
    Start,
    Stop,
    TogglePilot,
    frame_received,
)
from harness.protocol.slac.ev import EvSlac, EvSlacConfig, EvState
from harness.protocol.slac.evse import EvseSlac, EvseSlacConfig, EvseState

__all__ = [
    "AttemptFailed",
    "EvSlac",
    "EvSlacConfig",
    "EvState",
    "EvseSlac",
    "EvseSlacConfig",
    "EvseState",
    "Ignored",
    "LinkLost",
    "MatchFailed",
    "Matched",
    "Outcome",
    "PilotStateChanged",
    "SetKey",
    "SlacAction",
    "SlacEvent",
    "Start",
    "Stop",
    "TogglePilot",
    "frame_received",
]
