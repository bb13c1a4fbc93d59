"""Every answer time a run measured, per message type, and their percentiles.

A ``response_time`` check (kind ``response_time`` in results.json) pairs each request with its answer
and records the frames as (request, answer) pairs in ``frames``; its reason only names the slowest.
The times of those frames are in the scenario's timeline (read with the same forgiving loader the
report's timing table uses), so every answer time is the answer's wire time minus the request's.

Two checks that time the same pair (e.g. SDP against 250 ms and against 500 ms) count it once; the
limit kept for a pair is the tightest.  A check that failed because a request got no answer records
only the request's frame: that request has no answer time and is left out.

A message type is the request and the response the check selects, e.g. ``DIN CurrentDemandReq ->
CurrentDemandRes``; checks that select the same messages with different field conditions (the pilot
checks do) share it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capture.timeline import TimelineEvent
from harness.verdict.results import Results
from reports.timeline_file import load_timeline

RESPONSE_TIME_KIND = "response_time"  # the check kind whose frames are (request, answer) pairs
# The percentiles a run's answer times are summarised by (nearest-rank), besides the maximum.
PERCENTILES = (50, 95)


@dataclass(frozen=True, slots=True)
class AnswerTime:
    message: str  # the message type, e.g. "DIN CurrentDemandReq -> CurrentDemandRes"
    scenario: str
    request_frame: int
    answer_frame: int
    seconds: float
    limit_s: float | None  # the tightest max_s of the checks that timed this pair


@dataclass(frozen=True, slots=True)
class Summary:
    """The answer times of one message type over a run (seconds)."""

    message: str
    count: int
    p50: float
    p95: float
    max: float
    limits: tuple[float, ...]  # the distinct limits checks judged them against


def message_type(spec: dict[str, Any]) -> str | None:
    """``"<protocol> <request> -> <response>"`` of a response_time spec; None when it is not one."""
    request, response = spec.get("request"), spec.get("response")
    if not isinstance(request, dict) or not isinstance(response, dict):
        return None
    protocol = request.get("protocol") or response.get("protocol") or "?"
    asked = request.get("message") or "any message"
    answered = response.get("message") or "any message"
    return f"{protocol} {asked} -> {answered}"


def _limit(spec: dict[str, Any]) -> float | None:
    value = spec.get("max_s")
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _event_at(
    events_by_frame: dict[int, list[TimelineEvent]], frame: int, selector: Any
) -> TimelineEvent | None:
    """The event of ``frame`` the selector names (a frame can carry several messages)."""
    candidates = events_by_frame.get(frame, [])
    wanted = selector.get("message") if isinstance(selector, dict) else None
    for event in candidates:
        if wanted is None or event.message == wanted:
            return event
    return None


def scenario_answer_times(
    scenario_id: str, checks: Iterable[Any], events: Sequence[TimelineEvent]
) -> list[AnswerTime]:
    by_frame: dict[int, list[TimelineEvent]] = {}
    for event in events:
        by_frame.setdefault(event.frame, []).append(event)
    pairs: dict[tuple[str, int, int], AnswerTime] = {}
    for check in checks:
        spec = check.spec
        if spec.get("kind") != RESPONSE_TIME_KIND:
            continue
        message = message_type(spec)
        if message is None or len(check.frames) % 2:
            continue  # an unanswered request: nothing was timed
        limit = _limit(spec)
        for request_frame, answer_frame in zip(check.frames[::2], check.frames[1::2], strict=True):
            request = _event_at(by_frame, request_frame, spec["request"])
            answer = _event_at(by_frame, answer_frame, spec["response"])
            if request is None or answer is None or answer.t < request.t:
                continue
            key = (message, request_frame, answer_frame)
            known = pairs.get(key)
            if known is not None and known.limit_s is not None and (limit is None or known.limit_s <= limit):
                continue
            pairs[key] = AnswerTime(
                message, scenario_id, request_frame, answer_frame, answer.t - request.t, limit
            )
    return list(pairs.values())


def answer_times(results: Results, run_dir: Path) -> list[AnswerTime]:
    """Every answer time of the run, in scenario order; scenarios without a readable timeline add none."""
    out: list[AnswerTime] = []
    for scenario in results.scenarios:
        if not any(c.spec.get("kind") == RESPONSE_TIME_KIND for c in scenario.checks):
            continue  # no need to read a timeline that has nothing to give
        timeline = load_timeline(Path(run_dir), scenario.timeline)
        out.extend(scenario_answer_times(scenario.id, scenario.checks, timeline.events))
    return out


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile: the smallest value with at least p % of them at or below it."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def summarise(times: Iterable[AnswerTime]) -> dict[str, Summary]:
    """Per message type (sorted by name): count, p50, p95, max and the limits."""
    grouped: dict[str, list[AnswerTime]] = {}
    for item in times:
        grouped.setdefault(item.message, []).append(item)
    out = {}
    for message in sorted(grouped):
        items = grouped[message]
        seconds = [i.seconds for i in items]
        out[message] = Summary(
            message=message,
            count=len(seconds),
            p50=percentile(seconds, PERCENTILES[0]),
            p95=percentile(seconds, PERCENTILES[1]),
            max=max(seconds),
            limits=tuple(sorted({i.limit_s for i in items if i.limit_s is not None})),
        )
    return out
