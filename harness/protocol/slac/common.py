"""Events and actions shared by the EV and EVSE SLAC cores (sans-I/O, in the style of h11).

A core is fed ``handle(event, now)`` with ``now`` in float seconds from any monotonic clock the caller
owns, and returns a list of actions for the caller to perform.  Timers are named; the caller arms a
timer on :class:`StartTimer` (a new StartTimer of the same name replaces the old one), forgets it on
:class:`CancelTimer`, and feeds :class:`TimerExpired` when the deadline passes.  A core ignores expiries
of timers it has cancelled or re-armed, so a sloppy caller cannot make it misbehave.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.codec.homeplug import SlacMessage

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
class FrameReceived:
    message: SlacMessage


@dataclass(frozen=True, slots=True)
class TimerExpired:
    name: str


@dataclass(frozen=True, slots=True)
class LinkUp:
    """The local modem reports that it joined the logical network (AVLN)."""


@dataclass(frozen=True, slots=True)
class LinkDown:
    """The local modem lost the logical network."""


@dataclass(frozen=True, slots=True)
class PilotStateChanged:
    """EVSE side of CM_VALIDATE: the vehicle state the EVSE measures on the pilot ("B", "C", ...)."""

    state: str


SlacEvent = Start | Stop | FrameReceived | TimerExpired | LinkUp | LinkDown | PilotStateChanged

# --------------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendFrame:
    """Send ``frame`` (a complete Ethernet frame, already padded) on the PLC interface."""

    frame: bytes
    name: str  # the SLAC message name, e.g. "CM_SLAC_PARM.REQ"
    dst: str


@dataclass(frozen=True, slots=True)
class StartTimer:
    name: str
    deadline: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    name: str


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


SlacAction = (
    SendFrame
    | StartTimer
    | CancelTimer
    | SetKey
    | TogglePilot
    | Matched
    | AttemptFailed
    | MatchFailed
    | LinkLost
    | Ignored
)


@dataclass
class TimerTable:
    """The deadlines a core has armed; expiries of unknown or re-armed timers are stale."""

    deadlines: dict[str, float] = field(default_factory=dict)

    def start(self, name: str, deadline: float) -> StartTimer:
        self.deadlines[name] = deadline
        return StartTimer(name, deadline)

    def cancel(self, name: str) -> list[CancelTimer]:
        if self.deadlines.pop(name, None) is None:
            return []
        return [CancelTimer(name)]

    def cancel_all(self) -> list[CancelTimer]:
        actions = [CancelTimer(name) for name in self.deadlines]
        self.deadlines.clear()
        return actions

    def fire(self, name: str, now: float) -> bool:
        """True (and disarm) if ``name`` is armed and due at ``now``."""
        deadline = self.deadlines.get(name)
        if deadline is None or now + 1e-9 < deadline:
            return False
        del self.deadlines[name]
        return True

    def next_deadline(self) -> float | None:
        return min(self.deadlines.values(), default=None)
