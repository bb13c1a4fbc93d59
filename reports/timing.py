"""The timing table of a scenario and the time limits its checks were judged against.

Times are shown in milliseconds relative to the scenario's first timeline event, because the
standards state their timers that way (e.g. "the SECC answers within 25 ms") and epoch seconds help
nobody reading a report.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from capture.timeline import TimelineEvent
from harness.verdict.results import CheckResult
from reports.sequence_chart import endpoint, event_kind, format_ms

# The table lists more than the chart, but a runaway capture must not make a report of megabytes.
MAX_TABLE_ROWS = 2000

# A number followed by a time unit, as check reasons write them ("answered after 31.2 ms").
_DURATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(ms|s)\b")
_UNIT_SECONDS = {"ms": 1e-3, "s": 1.0}
# Enough of the undecodable bytes to recognise them; the capture holds all of them.
_RAW_HEX_SHOWN = 64


@dataclass(frozen=True, slots=True)
class TimingRow:
    frame: int
    t_ms: str  # relative to the first event
    delta_ms: str  # to the previous event; empty on the first row
    src: str  # with the port when the frame had one
    dst: str
    protocol: str
    message: str
    error: str
    kind: str  # "message", "link" or "error", as drawn in the chart


@dataclass(frozen=True, slots=True)
class TimedCheck:
    """A check whose spec carries a time limit, with the value it measured when that is known."""

    requirement: str | None
    description: str
    limits: tuple[str, ...]  # e.g. "max_s = 25 ms"
    measured: str  # e.g. "31.200 ms", or "" when the check result does not say
    verdict: str
    reason: str


def timing_rows(events: Sequence[TimelineEvent], limit: int = MAX_TABLE_ROWS) -> list[TimingRow]:
    if not events:
        return []
    origin = events[0].t
    rows = []
    previous: float | None = None
    for event in events[:limit]:
        rows.append(
            TimingRow(
                frame=event.frame,
                t_ms=format_ms(event.t - origin),
                delta_ms="" if previous is None else format_ms(event.t - previous),
                src=endpoint(event.src, event.sport),
                dst=endpoint(event.dst, event.dport),
                protocol=event.protocol,
                message=event.message,
                error=_error_text(event),
                kind=event_kind(event),
            )
        )
        previous = event.t
    return rows


def _error_text(event: TimelineEvent) -> str:
    """A decode error with where it happened, so a lab can find the bad bytes in Wireshark."""
    if not event.error:
        return ""
    where = []
    if "offset" in event.fields:
        where.append(f"byte offset {event.fields['offset']}")
    raw = event.fields.get("raw")
    if isinstance(raw, str) and raw:
        where.append(f"raw {raw[:_RAW_HEX_SHOWN]}{'...' if len(raw) > _RAW_HEX_SHOWN else ''}")
    return f"{event.error} ({', '.join(where)})" if where else event.error


def format_duration(seconds: float) -> str:
    """A limit the way a standard writes it: sub-second values in ms, others in s."""
    if abs(seconds) < 1.0:
        return f"{seconds * 1000.0:g} ms"
    return f"{seconds:g} s"


def time_limits(spec: dict[str, object]) -> dict[str, float]:
    """The numeric entries of a check spec that are times in seconds (``limit_s``, ``max_s``, ...)."""
    limits = {}
    for key, value in spec.items():
        if key.endswith("_s") and isinstance(value, int | float) and not isinstance(value, bool):
            if math.isfinite(value):
                limits[key] = float(value)
    return limits


def measured_from_reason(reason: str, limits: Sequence[float]) -> float | None:
    """The first duration in ``reason`` that is not one of the limits, in seconds; None if there is none.

    Check reasons state what was measured and usually the limit too ("answered after 31.2 ms, limit
    25 ms"); skipping values equal to a limit keeps the limit from being shown as the measurement.
    """
    for match in _DURATION.finditer(reason):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        if not any(math.isclose(seconds, limit, rel_tol=1e-9, abs_tol=1e-12) for limit in limits):
            return seconds
    return None


def timed_checks(checks: Sequence[CheckResult]) -> list[TimedCheck]:
    out = []
    for check in checks:
        limits = time_limits(check.spec)
        if not limits:
            continue
        measured = check.measured_s
        if measured is None:
            measured = measured_from_reason(check.reason, list(limits.values()))
        out.append(
            TimedCheck(
                requirement=check.requirement,
                description=check.description,
                limits=tuple(f"{key} = {format_duration(value)}" for key, value in limits.items()),
                measured="" if measured is None else f"{format_ms(measured)} ms",
                verdict=check.verdict.value,
                reason=check.reason,
            )
        )
    return out
