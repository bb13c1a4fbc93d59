"""Reading a scenario's timeline file for a report, forgivingly.

A report is most needed when a run went wrong, so a missing, truncated or partly malformed timeline
must never stop it: what can be read is shown and the rest is described in a note.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capture.timeline import TimelineEvent


@dataclass(frozen=True, slots=True)
class LoadedTimeline:
    """The events read from one timeline file; ``note`` says what was missing or skipped, if anything."""

    events: tuple[TimelineEvent, ...]
    note: str | None = None


def _event(data: Any) -> TimelineEvent:
    """One event from its JSON dict; raises ValueError/TypeError/KeyError when it is not one."""
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, got {type(data).__name__}")
    t = float(data["t"])
    if not math.isfinite(t):
        raise ValueError(f"t is {t}")
    fields = data.get("fields") or {}
    if not isinstance(fields, dict):
        raise TypeError("fields is not an object")
    error = data.get("error")
    return TimelineEvent(
        t=t,
        frame=int(data["frame"]),
        src=str(data.get("src") or "?"),
        dst=str(data.get("dst") or "?"),
        protocol=str(data.get("protocol") or "?"),
        message=str(data.get("message") or "?"),
        fields=fields,
        error=None if error is None else str(error),
        sport=_port(data.get("sport")),
        dport=_port(data.get("dport")),
    )


def _port(value: Any) -> int | None:
    return None if value is None else int(value)


def load_timeline(run_dir: Path, relative: str | None) -> LoadedTimeline:
    """The timeline at ``relative`` (to ``run_dir``), or an empty one with a note saying why not."""
    if relative is None:
        return LoadedTimeline((), "No timeline was recorded for this scenario.")
    if Path(relative).is_absolute() or ".." in Path(relative).parts:
        # A report embeds only what belongs to the run; results.json must not pull in other files.
        return LoadedTimeline((), f"Timeline path {relative!r} lies outside the run directory.")
    path = run_dir / relative
    if not path.is_file():
        return LoadedTimeline((), f"Timeline file {relative} is missing from the run directory.")
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError) as exc:
        return LoadedTimeline((), f"Timeline file {relative} could not be read: {exc}")
    if not isinstance(data, list):
        return LoadedTimeline((), f"Timeline file {relative} is not a JSON list of events.")
    if not data:
        return LoadedTimeline(
            (), f"Timeline file {relative} is empty: no frame of a protocol under test was captured."
        )
    events: list[TimelineEvent] = []
    bad: list[str] = []
    for index, item in enumerate(data):
        try:
            events.append(_event(item))
        except (KeyError, TypeError, ValueError) as exc:
            bad.append(f"entry {index}: {type(exc).__name__}: {exc}")
    note = None
    if bad:
        shown = "; ".join(bad[:3]) + ("; ..." if len(bad) > 3 else ".")
        note = f"{len(bad)} of {len(data)} entries in {relative} could not be read and are left out: {shown}"
    return LoadedTimeline(tuple(events), note)
