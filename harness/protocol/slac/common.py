"""What the EV and EVSE SLAC cores add to the kernel vocabulary of :mod:`harness.protocol.core`.

The cores are :class:`~harness.protocol.core.TimedCore` subclasses: ``handle(event, now)`` with ``now``
in float seconds on the driver's clock, actions back.  The generic events and actions are the kernel's:
a received frame is :class:`~harness.protocol.core.MessageReceived` carrying the decoded
:class:`~harness.codec.homeplug.SlacMessage`; a frame to send is :class:`~harness.protocol.core.Send`
whose ``message`` is the complete Ethernet frame (bytes, already padded), ``name`` the SLAC message
name and ``destination`` the MAC it goes to; timers are the kernel's StartTimer/CancelTimer/
TimerExpired, and LinkUp/LinkDown are the local modem joining or losing the logical network (AVLN).

Only what is SLAC's own is defined here: plug-in and unplug (:class:`Start`, :class:`Stop`), the pilot
state the EVSE measures during CM_VALIDATE, the key for the local modem, the pilot toggles of the EV,
and the outcomes the cores report to their owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.codec.homeplug import SlacMessage
from harness.protocol import core

# --------------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    """Begin matching: the EV saw 5 % PWM in state B; the EVSE detected the plug (state B)."""


@dataclass(frozen=True, slots=True)
class Stop:
    """Unplugged or aborted by the application: drop the session, cancel every timer."""

    reason: str = "stopped"


@dataclass(frozen=True, slots=True)
class PilotStateChanged:
    """EVSE side of CM_VALIDATE: the vehicle state the EVSE measures on the pilot ("B", "C", ...)."""

    state: str


SlacEvent = (
    Start | Stop | core.MessageReceived | core.TimerExpired | core.LinkUp | core.LinkDown | PilotStateChanged
)

# --------------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetKey:
    """Give the local modem the network to join.  ``frame`` is the CM_SET_KEY.REQ to send to it."""

    nid: bytes
    nmk: bytes
    frame: bytes


@dataclass(frozen=True, slots=True)
class TogglePilot:
    """EV side of CM_VALIDATE: toggle B->C->B ``toggles`` times, ``state_duration`` s per state."""

    toggles: int
    state_duration: float


@dataclass(frozen=True, slots=True)
class Matched:
    """Matching succeeded.  ``peer`` is the other side's host MAC."""

    peer: str
    run_id: bytes
    nid: bytes
    nmk: bytes
    attenuation_db: float | None = None


@dataclass(frozen=True, slots=True)
class AttemptFailed:
    """One matching attempt failed; the core retries on its own (not a final verdict)."""

    reason: str
    attempt: int


@dataclass(frozen=True, slots=True)
class MatchFailed:
    """Matching failed for good; ``reason`` names the timer or counter that ran out."""

    reason: str


@dataclass(frozen=True, slots=True)
class LinkLost:
    """The PLC link went down after a match."""

    reason: str


@dataclass(frozen=True, slots=True)
class Ignored:
    """A received frame was deliberately ignored (wrong RunID, foreign sender, unexpected message)."""

    name: str
    src: str
    reason: str


# What a core reports to its owner (the device or tester acts on these; a driver does not).
Outcome = Matched | AttemptFailed | MatchFailed | LinkLost | Ignored

SlacAction = core.Send | core.StartTimer | core.CancelTimer | SetKey | TogglePilot | Outcome


def frame_received(message: SlacMessage) -> core.MessageReceived:
    """The kernel event for a decoded SLAC frame, with its sender as the event's source."""
    return core.MessageReceived(message, message.src)
