"""The DER oracle: for a server's schedule, which responses a client must post per control, and when.

A verdict needs to know what a correct client would have done, but a correct client draws its own
random offsets and learns of changes only when it next polls.  The oracle therefore runs the same
engine (:class:`~harness.protocol.sep2.der_events.DerEventEngine`) on simulated time over the corners
of what a client may legitimately do:

* every randomization offset at its low end and at its high end (:class:`BoundOffsets`), plus a few
  seeded draws in between (:class:`SeededRandom`);
* each input delivered as soon as it happened, and one poll period later (``poll_period``: the client
  learns of a change on its next poll, REFERENCE-DER.md: pollRate, 900 s by default).

For each control it reports the statuses posted in every run (``required``) and in at least one
(``allowed``).  Where controls interact (whether one supersedes another can depend on both draws), the
seeded runs sample the combinations and ``required``/``allowed`` keep the difference visible instead
of guessing.

Per status it gives a window: the earliest to the latest time any run posted it, widened to the bounds
the control's own parameters allow (:func:`status_bounds`): "received" within a poll period of
publication; "started" within the randomizeStart range; "completed" within the combined start and
duration ranges; "superseded" from the earliest start of a control that may supersede it (not before
receipt) to its own latest end; "cancelled" from when
the server cancelled it to a poll period plus, for a cancellation with randomization, the larger
randomization later.  Sampled runs alone would miss draws between the corners where another rule
intervenes (a control that completes just before a cancellation in one draw and is cancelled in the
next); the bounds do not.  Likewise a client that learns of changes between those two delays may see a
control before its randomized end and its cancellation only after it, and answer "completed"
(:func:`completions_before_cancellation` allows that where it can happen).  Two snapshots at one instant
reach the engine as the later one: no poll can show the earlier.

Inputs are ``(server time, event)`` pairs: :class:`~harness.protocol.sep2.der_events.DerSnapshot` for
what the server published from then on, and the user and communication events.  No I/O.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from harness.protocol.core import Send
from harness.protocol.sep2.der_events import (
    BoundOffsets,
    DerEngineConfig,
    DerEventEngine,
    DerSnapshot,
    EventState,
    RandomSource,
    SeededRandom,
)
from harness.protocol.sep2.der_model import DerControl, DerControlResponse, EventStatusCode, ResponseStatus
from harness.protocol.simclock import SimulatedClock

DEFAULT_SEEDS = (1, 2, 3)


@dataclass(frozen=True, slots=True)
class Window:
    """From ``earliest`` to ``latest`` (server time, inclusive)."""

    earliest: float
    latest: float

    def contains(self, at: float, slack: float = 0.0) -> bool:
        return self.earliest - slack <= at <= self.latest + slack

    def widen(self, at: float) -> Window:
        return Window(min(self.earliest, at), max(self.latest, at))


@dataclass(frozen=True, slots=True)
class ControlExpectation:
    """What the oracle expects of one control."""

    control: str
    required: frozenset[int]
    allowed: frozenset[int]
    windows: Mapping[int, Window] = field(hash=False)
    final_states: frozenset[EventState]
    state_windows: Mapping[EventState, Window] = field(hash=False)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a client's responses got wrong, in words a lab engineer reads."""

    control: str
    status: int
    at: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class PostedResponse:
    """A response a client posted: for which control, which status, and when (server time)."""

    control: str
    status: int
    at: float


@dataclass(frozen=True)
class DerOracle:
    expectations: Mapping[str, ControlExpectation]
    runs: int

    def window(self, control: str, status: int) -> Window | None:
        expectation = self.expectations.get(control)
        return expectation.windows.get(int(status)) if expectation is not None else None

    def judge(
        self, posted: Iterable[PostedResponse | DerControlResponse], slack: float = 0.0
    ) -> list[Finding]:
        """What is wrong with ``posted`` (an empty list: nothing).  ``slack`` widens every window (s)."""
        findings: list[Finding] = []
        seen: dict[str, set[int]] = {}
        for item in posted:
            response = _as_posted(item)
            seen.setdefault(response.control, set()).add(response.status)
            expectation = self.expectations.get(response.control)
            if expectation is None:
                reason = "response to a control the server never published"
                findings.append(Finding(response.control, response.status, response.at, reason))
            elif response.status not in expectation.allowed:
                allowed = ", ".join(str(s) for s in sorted(expectation.allowed)) or "none"
                reason = f"status {response.status} is not one the schedule calls for (allowed: {allowed})"
                findings.append(Finding(response.control, response.status, response.at, reason))
            elif not expectation.windows[response.status].contains(response.at, slack):
                window = expectation.windows[response.status]
                reason = (
                    f"status {response.status} posted at {response.at:.0f}, outside "
                    f"{window.earliest:.0f}..{window.latest:.0f} (slack {slack:g} s)"
                )
                findings.append(Finding(response.control, response.status, response.at, reason))
        for control, expectation in sorted(self.expectations.items()):
            for status in sorted(expectation.required - seen.get(control, set())):
                window = expectation.windows[status]
                reason = (
                    f"status {status} was due {window.earliest:.0f}..{window.latest:.0f} but never posted"
                )
                findings.append(Finding(control, status, None, reason))
        return findings


def _as_posted(item: PostedResponse | DerControlResponse) -> PostedResponse:
    if isinstance(item, PostedResponse):
        return item
    return PostedResponse(item.subject, int(item.status), float(item.created_date_time))


def run_engine(
    inputs: Sequence[tuple[float, Any]],
    *,
    until: float,
    config: DerEngineConfig | None = None,
    randomness: RandomSource | None = None,
    delay: float = 0.0,
) -> tuple[DerEventEngine, list[PostedResponse]]:
    """Run one engine over ``inputs`` on simulated server time; its responses with their times."""
    engine = DerEventEngine(replace(config or DerEngineConfig(), clock_offset=0.0), randomness)
    begin = min((at for at, _ in inputs), default=0.0)
    clock = SimulatedClock(now=begin)
    posted: list[PostedResponse] = []

    def perform(actions: list[Any], now: float) -> None:
        for action in actions:
            if isinstance(action, Send):
                response = action.message
                posted.append(PostedResponse(response.subject, int(response.status), now))

    handle = clock.attach(engine, perform, name="der-engine")
    # Two snapshots of the server at one instant: a poll can only ever show the later one.
    latest = {at: index for index, (at, event) in enumerate(inputs) if isinstance(event, DerSnapshot)}
    for index, (at, event) in enumerate(inputs):
        if isinstance(event, DerSnapshot) and latest[at] != index:
            continue
        clock.schedule(handle, event, at + delay)
    clock.run(until=until)
    return engine, posted


def predict(
    inputs: Sequence[tuple[float, Any]],
    *,
    until: float,
    poll_period: float = 0.0,
    config: DerEngineConfig | None = None,
    seeds: Sequence[int] = DEFAULT_SEEDS,
) -> DerOracle:
    """The oracle for ``inputs`` (server time, event) up to server time ``until``."""
    sources: list[RandomSource] = [BoundOffsets("low"), BoundOffsets("high")]
    sources += [SeededRandom(seed) for seed in seeds]
    delays = (0.0, poll_period) if poll_period > 0 else (0.0,)
    statuses: dict[str, list[frozenset[int]]] = {}
    windows: dict[str, dict[int, Window]] = {}
    finals: dict[str, set[EventState]] = {}
    state_windows: dict[str, dict[EventState, Window]] = {}
    runs = 0
    for delay in delays:
        for source in sources:
            engine, posted = run_engine(inputs, until=until, config=config, randomness=source, delay=delay)
            runs += 1
            per_control: dict[str, set[int]] = {mrid: set() for mrid in engine.records}
            for response in posted:
                per_control.setdefault(response.control, set()).add(response.status)
                table = windows.setdefault(response.control, {})
                known = table.get(response.status)
                table[response.status] = (
                    known.widen(response.at) if known else Window(response.at, response.at)
                )
            for mrid, found in per_control.items():
                statuses.setdefault(mrid, []).append(frozenset(found))
            for mrid, record in engine.records.items():
                finals.setdefault(mrid, set()).add(record.state)
                table = state_windows.setdefault(mrid, {})
                for transition in record.history:
                    known = table.get(transition.state)
                    at = transition.at
                    table[transition.state] = known.widen(at) if known else Window(at, at)
    bounds = status_bounds(inputs, poll_period)
    for mrid, table in windows.items():
        for status, window in list(table.items()):
            extra = bounds.get(mrid, {}).get(status)
            if extra is not None:
                table[status] = window.widen(extra.earliest).widen(extra.latest)
    completing = completions_before_cancellation(inputs, poll_period)
    for mrid in completing & windows.keys():
        windows[mrid].setdefault(ResponseStatus.EVENT_COMPLETED, bounds[mrid][ResponseStatus.EVENT_COMPLETED])
    expectations = {}
    for mrid, found in statuses.items():
        # A control one run never saw (learned too late) counts as posting nothing in that run.
        every = frozenset.intersection(*found) if len(found) == runs else frozenset()
        also = {int(ResponseStatus.EVENT_COMPLETED)} if mrid in completing else set()
        expectations[mrid] = ControlExpectation(
            control=mrid,
            required=every,
            allowed=frozenset().union(*found, also),
            windows=MappingProxyType(dict(windows.get(mrid, {}))),
            final_states=frozenset(finals.get(mrid, set())),
            state_windows=MappingProxyType(dict(state_windows.get(mrid, {}))),
        )
    return DerOracle(MappingProxyType(expectations), runs)


def _schedule(
    inputs: Sequence[tuple[float, Any]],
) -> tuple[dict[str, tuple[float, DerControl]], dict[str, tuple[float, int]]]:
    """Per control, when it was first published and as what; and when the server cancelled it (a status
    or dropping it from the list) and how."""
    published: dict[str, tuple[float, DerControl]] = {}
    cancelled: dict[str, tuple[float, int]] = {}
    for at, event in sorted(inputs, key=lambda item: item[0]):
        if not isinstance(event, DerSnapshot):
            continue
        listed = set()
        for control in event.controls:
            listed.add(control.mrid)
            published.setdefault(control.mrid, (at, control))
            if control.current_status in _CANCELLING and control.mrid not in cancelled:
                cancelled[control.mrid] = (at, control.current_status)
        for mrid in published.keys() - listed - cancelled.keys():
            cancelled[mrid] = (at, EventStatusCode.CANCELLED)
    return published, cancelled


def _ends(control: DerControl) -> tuple[float, float, float, float]:
    """(earliest start, latest start, earliest end, latest end) its randomization allows."""
    low_start = control.start + min(0, control.randomize_start)
    high_start = control.start + max(0, control.randomize_start)
    low_end = low_start + max(0, control.duration + min(0, control.randomize_duration))
    high_end = high_start + max(0, control.duration + max(0, control.randomize_duration))
    return low_start, high_start, low_end, high_end


def completions_before_cancellation(inputs: Sequence[tuple[float, Any]], poll_period: float) -> set[str]:
    """The cancelled controls a correct client may still answer "completed": one that learns of every
    change ``d`` late (0 <= d <= a poll period) sees the control before a randomized end ``E`` and the
    cancellation only after it when seen + d < E <= cancelled + d (+ the randomization a cancellation with
    randomization leaves it).  The sampled runs take d at 0 and at a poll period only, and miss this where
    the control ends within a poll period of its publication."""
    published, cancelled = _schedule(inputs)
    out = set()
    for mrid, (when, status) in cancelled.items():
        seen, control = published[mrid]
        if when <= seen:
            continue  # published cancelled: never seen active
        _, _, low_end, high_end = _ends(control)
        spread = max(abs(control.randomize_start), abs(control.randomize_duration))
        extra = spread if status == EventStatusCode.CANCELLED_WITH_RANDOMIZATION else 0
        # Some E in [low_end, high_end] after ``seen`` and at most a poll period after the cancellation (plus
        # ``extra``): d = max(0, E - when - extra) is then a delay under E - seen, since when > seen.
        earliest = max(low_end, math.nextafter(seen, math.inf))
        if earliest <= min(high_end, when + extra + poll_period):
            out.add(mrid)
    return out


def status_bounds(inputs: Sequence[tuple[float, Any]], poll_period: float) -> dict[str, dict[int, Window]]:
    """Per control and status, the times its own parameters allow (see the module docstring)."""
    published, cancelled = _schedule(inputs)
    rivals = _RivalStarts(control for _, control in published.values())
    bounds: dict[str, dict[int, Window]] = {}
    for mrid, (seen, control) in published.items():
        low_start, high_start, low_end, high_end = _ends(control)
        start = Window(max(seen, low_start), max(seen + poll_period, high_start))
        table = {
            ResponseStatus.EVENT_RECEIVED: Window(seen, seen + poll_period),
            ResponseStatus.EVENT_STARTED: start,
            ResponseStatus.EVENT_COMPLETED: Window(max(seen, low_end), max(seen + poll_period, high_end)),
            ResponseStatus.EVENT_SUPERSEDED: Window(
                max(seen, rivals.first(control, default=start.earliest)),
                max(start.latest, high_end),
            ),
        }
        if mrid in cancelled:
            when, status = cancelled[mrid]
            spread = max(abs(control.randomize_start), abs(control.randomize_duration))
            late = poll_period + (spread if status == EventStatusCode.CANCELLED_WITH_RANDOMIZATION else 0)
            table[ResponseStatus.EVENT_CANCELLED] = Window(when, when + late)
        bounds[mrid] = {int(status): window for status, window in table.items()}
    return bounds


class _RivalStarts:
    """The earliest effective start of another control that shares a mode with a given one and may overlap
    it: a control is superseded at the superseding one's effective start (see der_events), so no earlier.
    Which of the two wins (primacy, creationTime) is left to the sampled runs.  Per mode the controls'
    (earliest start, latest end) are sorted by start, so a look-up reads only those that can overlap: from
    the mode's longest span before the control's start to its latest end (a day of 1,000 controls is
    judged in one pass, not a pass per control)."""

    def __init__(self, controls: Iterable[DerControl]) -> None:
        self._by_mode: dict[str, list[tuple[float, float, str]]] = {}
        for control in controls:
            low_start, _, _, high_end = _ends(control)
            for mode in control.modes:
                self._by_mode.setdefault(mode, []).append((low_start, high_end, control.mrid))
        self._starts: dict[str, list[float]] = {}
        self._span: dict[str, float] = {}
        for mode, spans in self._by_mode.items():
            spans.sort()
            self._starts[mode] = [low for low, _, _ in spans]
            self._span[mode] = max(high - low for low, high, _ in spans)

    def first(self, control: DerControl, *, default: float) -> float:
        low_start, _, _, high_end = _ends(control)
        found = math.inf
        for mode in control.modes:
            spans, starts = self._by_mode[mode], self._starts[mode]
            begin = bisect.bisect_left(starts, low_start - self._span[mode])
            for other_low, other_high, mrid in spans[begin : bisect.bisect_left(starts, high_end)]:
                if other_low >= found:
                    break
                if mrid != control.mrid and low_start < other_high:
                    found = other_low
                    break
        return default if found == math.inf else found


_CANCELLING = (EventStatusCode.CANCELLED, EventStatusCode.CANCELLED_WITH_RANDOMIZATION)
