"""Offline analysis: a capture's protocol-level checks, and a finished run re-judged from its captures.

`vgi analyze CAPTURE` streams: :class:`CaptureAnalysis` hands out the timeline event by event as the
capture is read and judges the protocol-level checks as the events pass, so neither the timeline nor
the capture is ever held whole (a capture of any size is analysed in bounded memory).  The streaming
judges give the same outcome as :func:`harness.verdict.expectations.evaluate` over the whole timeline.

`vgi analyze RUN_DIR` must reach the live run's verdicts from the captures alone: it re-reads each
scenario's capture, rebuilds the timeline and evaluates the expectations the scenario registered
(stored in results.json).  A scenario that ended before it registered any (not applicable, DUT would
not start, interrupted) has nothing in its capture to judge: its recorded verdict is carried over and
marked as such.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capture.reader import CaptureReadError, iter_timeline, read_timeline
from capture.timeline import Timeline, TimelineEvent
from harness.verdict.expectations import (
    ConnectionScope,
    Outcome,
    Parties,
    connection_of,
    describe,
    is_answer,
    missing_outcome,
    ms_text,
    present_outcome,
    selects,
)
from harness.verdict.protocol_checks import PROTOCOL_CHECKS, SESSION_CHECKS
from harness.verdict.results import CheckResult, Results
from harness.verdict.verdicts import Verdict

_NO_PARTIES = Parties(frozenset())


def analyze_capture(path: Path) -> tuple[Timeline, list[CheckResult]]:
    """The whole timeline and the protocol-level checks of a capture (a small one: the timeline is
    kept; `vgi analyze` streams with :class:`CaptureAnalysis` instead)."""
    analysis = CaptureAnalysis(path)
    timeline = list(analysis.events())
    return timeline, analysis.checks()


class CaptureAnalysis:
    """One pass over a capture: iterate :meth:`events`, then read :meth:`checks`.  With
    ``keep_frames`` False the checks cite no frame numbers (nothing grows with the capture)."""

    def __init__(self, path: Path, keep_frames: bool = True) -> None:
        self.path = path
        self._judges = [
            (streaming_judge(spec, _NO_PARTIES, keep_frames), spec, description, requirement)
            for requirement, description, spec in PROTOCOL_CHECKS
        ] + [
            (
                SessionJudge(protocol, streaming_judge(spec, _NO_PARTIES, keep_frames)),
                spec,
                description,
                requirement,
            )
            for protocol, requirement, description, spec in SESSION_CHECKS
        ]
        self._done = False

    def events(self) -> Iterator[TimelineEvent]:
        route = _Router([check for check, _, _, _ in self._judges])
        for event in iter_timeline(self.path):
            for check in route.judges_of(event):
                check.feed(event)
            yield event
        self._done = True

    def checks(self) -> list[CheckResult]:
        if not self._done:
            raise RuntimeError("checks are known once every event has been read")
        return [
            check.outcome().result(spec, description, requirement)
            for check, spec, description, requirement in self._judges
        ]


class _Router:
    """Which judges an event concerns: a selector naming protocol and message only ever selects
    events of that pair, so most events reach only the judges that can use them."""

    def __init__(self, judges: list[StreamingJudge]) -> None:
        self._every = [j for j in judges if any(not _keyed(s) for s in j.selectors)]
        keyed: dict[tuple[str, str], list[StreamingJudge]] = {}
        for check in judges:
            if check in self._every:
                continue
            for selector in check.selectors:
                bucket = keyed.setdefault((selector["protocol"], selector["message"]), list(self._every))
                if check not in bucket:
                    bucket.append(check)
        self._keyed = keyed

    def judges_of(self, event: TimelineEvent) -> list[StreamingJudge]:
        return self._keyed.get((event.protocol, event.message), self._every)


def _keyed(selector: dict[str, Any]) -> bool:
    return "protocol" in selector and "message" in selector


class StreamingJudge:
    """An expectation judged event by event; :meth:`outcome` equals ``evaluate`` over all events."""

    selectors: list[dict[str, Any]]

    def feed(self, event: TimelineEvent) -> None:
        raise NotImplementedError

    def outcome(self) -> Outcome:
        raise NotImplementedError


class SessionJudge(StreamingJudge):
    """``inner`` judged on the connections that carry ``protocol``'s messages only (the supportedAppProtocol
    handshake belongs to the protocol it chose, which shows in what follows on its connection).  The
    events ``inner`` selects wait, per connection, until the connection carries such a message (a
    handshake's two messages each); those of a connection that never does are dropped.  Not a spec kind:
    ``evaluate`` has no counterpart (harness.verdict.protocol_checks.SESSION_CHECKS)."""

    def __init__(self, protocol: str, inner: StreamingJudge) -> None:
        self.protocol, self.inner = protocol, inner
        # Every event of the protocol marks its connection: a selector of the protocol alone.
        self.selectors = [*inner.selectors, {"protocol": protocol}]
        self._sessions: set[frozenset[tuple[str, int | None]]] = set()
        self._waiting: dict[frozenset[tuple[str, int | None]], list[TimelineEvent]] = {}
        self._fed = False

    def feed(self, event: TimelineEvent) -> None:
        connection = connection_of(event)
        if event.protocol == self.protocol:
            if connection not in self._sessions:
                self._sessions.add(connection)
                for waiting in self._waiting.pop(connection, ()):
                    self._feed(waiting)
            return
        if not any(selects(selector, event, _NO_PARTIES) for selector in self.inner.selectors):
            return
        if connection in self._sessions:
            self._feed(event)
        else:
            self._waiting.setdefault(connection, []).append(event)

    def _feed(self, event: TimelineEvent) -> None:
        self._fed = True
        self.inner.feed(event)

    def outcome(self) -> Outcome:
        if not self._fed and self._waiting:
            return Outcome(
                Verdict.NOT_APPLICABLE,
                f"the handshake chose another protocol: no {self.protocol} message on its connection "
                f"({sum(len(w) for w in self._waiting.values())} event(s) not judged)",
            )
        return self.inner.outcome()


def streaming_judge(spec: dict[str, Any], parties: Parties, keep_frames: bool = True) -> StreamingJudge:
    """The streaming judge of a spec; the kinds the protocol-level checks use are supported."""
    kind = spec.get("kind")
    if kind == "present":
        return _Present(spec, parties, keep_frames)
    if kind == "response_time" and spec.get("until_next_request", True):
        return _ResponseTime(spec, parties, keep_frames)
    if kind == "interval":
        return _Interval(spec, parties, keep_frames)
    raise ValueError(f"no streaming judge for a {kind!r} expectation")


class _Frames:
    """Frame numbers a check cites: 8 bytes each, or none at all when not kept."""

    def __init__(self, keep: bool) -> None:
        self._frames: array | None = array("q") if keep else None

    def add(self, *frames: int) -> None:
        if self._frames is not None:
            self._frames.extend(frames)

    def all(self) -> tuple[int, ...]:
        return tuple(self._frames) if self._frames is not None else ()


class _Present(StreamingJudge):
    def __init__(self, spec: dict[str, Any], parties: Parties, keep_frames: bool) -> None:
        self.spec, self.parties = spec, parties
        self.selectors = [spec["select"]]
        self.scope = ConnectionScope(spec)
        self.hits = 0
        self.frames = _Frames(keep_frames)
        self.first_error: tuple[int, str] | None = None

    def feed(self, event: TimelineEvent) -> None:
        if self.scope.admits(event) and selects(self.spec["select"], event, self.parties):
            self.hits += 1
            self.frames.add(event.frame)
            if event.error and self.first_error is None:
                self.first_error = (event.frame, event.error)

    def outcome(self) -> Outcome:
        return present_outcome(self.spec, self.hits, self.frames.all(), self.first_error)


class _ResponseTime(StreamingJudge):
    """Each request's window ends at the next request, so one request is pending at a time and the
    first failing request/answer pair decides, as in ``evaluate``."""

    def __init__(self, spec: dict[str, Any], parties: Parties, keep_frames: bool) -> None:
        self.spec, self.parties = spec, parties
        self.selectors = [spec["request"], spec["response"]]
        self.pairs = 0
        self.worst = 0.0
        self.pending: TimelineEvent | None = None
        self.answered = False
        self.failure: Outcome | None = None
        self.frames = _Frames(keep_frames)

    def feed(self, event: TimelineEvent) -> None:
        if self.failure is not None:
            return
        spec = self.spec
        if selects(spec["request"], event, self.parties):
            self._close()
            self.pending, self.answered = event, False
            self.pairs += 1
            return
        request = self.pending
        if request is None or self.answered:
            return
        if is_answer(request, event) and selects(spec["response"], event, self.parties):
            self.answered = True
            delay = event.t - request.t
            limit = spec["max_s"]
            if delay > limit:
                self.failure = Outcome(
                    Verdict.FAIL,
                    f"answer to frame {request.frame} took {ms_text(delay)} "
                    f"(frame {event.frame}), limit {ms_text(limit)}",
                    (request.frame, event.frame),
                )
                return
            self.worst = max(self.worst, delay)
            self.frames.add(request.frame, event.frame)

    def _close(self) -> None:
        request = self.pending
        if request is not None and not self.answered and self.failure is None:
            spec = self.spec
            self.failure = Outcome(
                Verdict.FAIL,
                f"{describe(spec['request'])} in frame {request.frame} got no {describe(spec['response'])}",
                (request.frame,),
            )

    def outcome(self) -> Outcome:
        self._close()
        self.pending = None
        spec = self.spec
        if not self.pairs:
            return missing_outcome(
                spec, f"no {describe(spec['request'])} was seen, so no answer could be timed"
            )
        if self.failure is not None:
            return self.failure
        limit = spec["max_s"]
        return Outcome(
            Verdict.PASS,
            f"{self.pairs} answer(s), slowest {ms_text(self.worst)}, limit {ms_text(limit)}",
            self.frames.all(),
        )


@dataclass(slots=True)
class _Group:
    """One sender's run of selected events (or everyone's, without per_source)."""

    last_t: float
    last_frame: int
    failure: tuple[float, int, int] | None = None  # first bad gap: (gap, frame before, frame after)


class _Interval(StreamingJudge):
    """Per group, only the last event and the first bad gap are kept; like ``evaluate``, the first
    group (in order of its first event) with a bad gap decides."""

    def __init__(self, spec: dict[str, Any], parties: Parties, keep_frames: bool) -> None:
        self.spec, self.parties = spec, parties
        self.selectors = [spec["select"]]
        self.groups: dict[str, _Group] = {}
        self.hits = self.gaps = 0
        self.shortest: float | None = None
        self.low = spec.get("min_s", 0.0) - spec.get("tolerance_s", 0.0)
        self.high = spec.get("max_s")
        self.frames = _Frames(keep_frames)

    def feed(self, event: TimelineEvent) -> None:
        if not selects(self.spec["select"], event, self.parties):
            return
        self.hits += 1
        self.frames.add(event.frame)
        name = event.src if self.spec.get("per_source") else ""
        group = self.groups.get(name)
        if group is None:
            self.groups[name] = _Group(event.t, event.frame)
            return
        gap = event.t - group.last_t
        self.gaps += 1
        self.shortest = gap if self.shortest is None else min(self.shortest, gap)
        if group.failure is None and (gap < self.low or (self.high is not None and gap > self.high)):
            group.failure = (gap, group.last_frame, event.frame)
        group.last_t, group.last_frame = event.t, event.frame

    def outcome(self) -> Outcome:
        spec = self.spec
        if not self.gaps:
            return missing_outcome(spec, f"{self.hits} x {describe(spec['select'])}: an interval needs two")
        for group in self.groups.values():
            if group.failure is not None:
                gap, before, after = group.failure
                bound = f"at least {ms_text(spec.get('min_s', 0.0))}"
                if self.high is not None:
                    bound += f" and at most {ms_text(self.high)}"
                return Outcome(
                    Verdict.FAIL,
                    f"frames {before} -> {after}: {ms_text(gap)} apart, expected {bound}",
                    (before, after),
                )
        return Outcome(
            Verdict.PASS,
            f"{self.gaps} interval(s), shortest {ms_text(self.shortest or 0.0)}",
            self.frames.all(),
        )


@dataclass(frozen=True, slots=True)
class ReJudged:
    id: str
    verdict: Verdict
    reason: str
    live_verdict: Verdict
    from_capture: bool

    @property
    def agrees(self) -> bool:
        return self.verdict == self.live_verdict

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "live_verdict": self.live_verdict.value,
            "from_capture": self.from_capture,
        }


def analyze_run(run_dir: Path) -> list[ReJudged]:
    from harness.scenario import judge, summarise_checks  # the bench and lab: not needed for a capture

    results = Results.load(run_dir)
    out = []
    for scenario in results.scenarios:
        decided_by_step = scenario.interrupted or any(step.status == "failed" for step in scenario.steps)
        if not scenario.checks or not scenario.evidence or decided_by_step:
            out.append(
                ReJudged(
                    scenario.id,
                    scenario.verdict,
                    f"(carried over) {scenario.reason}",
                    scenario.verdict,
                    False,
                )
            )
            continue
        try:
            timeline = read_timeline(run_dir / scenario.evidence[0].capture)
        except CaptureReadError as exc:
            out.append(ReJudged(scenario.id, Verdict.ERROR, str(exc), scenario.verdict, True))
            continue
        specs = [(c.spec, c.description, c.requirement) for c in scenario.checks]
        checks = judge(specs, timeline, Parties(frozenset(scenario.endpoints.get("tester", []))))
        verdict, reason = summarise_checks(checks)
        out.append(ReJudged(scenario.id, verdict, reason, scenario.verdict, True))
    return out
