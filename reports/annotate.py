"""Annotated captures: ``<capture stem>.annotated.pcapng`` beside each scenario's capture.

Every frame the scenario's timeline decodes (V2G EXI, SLAC, SDP, decrypted IEEE 2030.5 HTTP, pilot
records, TCP link events, decode errors) and every frame a check cites carries a pcapng packet
comment: the message name, its key fields and the verdicts of the checks that cite the frame.  Stock
Wireshark and tshark show it as ``frame.comment``.  The original capture is only read; the copy keeps
every frame in place (capture/pcapng.py), so the report's frame numbers hold in both files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capture.keylog import keylog_for
from capture.pcapng import CaptureFormatError, write_commented
from capture.timeline import TimelineEvent
from harness.verdict.results import CheckResult, Results, ScenarioResult
from reports.timeline_file import load_timeline

ANNOTATED_SUFFIX = ".annotated.pcapng"
# How much of each part a comment keeps: Wireshark shows a comment on one line in the packet list,
# so it stays short enough to read there; the report and results.json hold the full texts.
MAX_KEY_FIELDS = 8
MAX_VALUE_CHARS = 40
MAX_DESCRIPTION_CHARS = 90
MAX_REASON_CHARS = 160
# Separators inside one comment: between the events of one frame, and before the checks.
EVENT_SEPARATOR = " + "
CHECKS_SEPARATOR = " | "
# Fields that hold bulk data (hex excerpts, bodies) rather than a fact worth a glance.
_BULK_FIELDS = frozenset({"raw", "exi", "body", "payload"})
# The keys of a physical value in the V2G schemas (DIN SPEC 70121 / ISO 15118-2 PhysicalValueType).
_PHYSICAL_VALUE = frozenset({"Multiplier", "Unit", "Value"})


def annotated_path(capture: Path) -> Path:
    """``captures/X.pcapng`` -> ``captures/X.annotated.pcapng`` (any capture suffix)."""
    return capture.with_name(capture.stem + ANNOTATED_SUFFIX)


def annotated_name(capture: str) -> str:
    """The same for a capture path as results.json writes it (relative, POSIX)."""
    stem, _, _ = capture.rpartition(".")
    return (stem or capture) + ANNOTATED_SUFFIX


def _short(value: Any, limit: int) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _physical(value: Mapping[str, Any]) -> str:
    """``{"Multiplier": -1, "Unit": "V", "Value": 3784}`` -> ``378.4 V``."""
    try:
        number = int(value["Value"]) * 10.0 ** int(value["Multiplier"])
    except (TypeError, ValueError, OverflowError):
        return f"{value['Value']}e{value['Multiplier']} {value['Unit']}"
    return f"{number:g} {value['Unit']}"


def _leaves(data: Any, name: str = "") -> Iterator[tuple[str, str]]:
    """(leaf name, value) pairs of a decoded message, depth first, in document order."""
    if isinstance(data, Mapping):
        if _PHYSICAL_VALUE <= data.keys():
            yield name, _physical(data)
            return
        for key, value in data.items():
            if key not in _BULK_FIELDS:
                yield from _leaves(value, str(key))
    elif isinstance(data, list):
        if name and all(not isinstance(item, Mapping | list) for item in data):
            yield name, ",".join(str(item) for item in data)  # e.g. ciphers=49326,255
            return
        for item in data:
            yield from _leaves(item, name)
    elif name:
        yield name, "" if data is None else str(data)


def _message_content(event: TimelineEvent) -> Any:
    """The part of a decoded event worth summarising: the message body of a V2G_Message (after the
    SessionID), the content under an EXI root element, or the flat fields of anything else."""
    fields = event.fields
    message = fields.get("V2G_Message")
    if isinstance(message, Mapping):
        header = message.get("Header")
        session = header.get("SessionID") if isinstance(header, Mapping) else None
        body = message.get("Body")
        content = body.get(event.message) if isinstance(body, Mapping) else None
        return {"SessionID": session, **(content if isinstance(content, Mapping) else {})}
    if len(fields) == 1 and event.message in fields:
        return fields[event.message]
    return fields


def key_fields(event: TimelineEvent) -> str:
    """``EVCCID=0200... SessionID=00``: the first scalar fields of a decoded event, shortened; values
    the message name already shows (``GET /dcap``, ``200 DeviceCapability``) are left out."""
    shown = {event.protocol, *event.message.split()}
    pairs = [(k, v) for k, v in _leaves(_message_content(event)) if v != "" and v not in shown]
    text = " ".join(f"{k}={_short(v, MAX_VALUE_CHARS)}" for k, v in pairs[:MAX_KEY_FIELDS])
    return text + (f" (+{len(pairs) - MAX_KEY_FIELDS} more)" if len(pairs) > MAX_KEY_FIELDS else "")


def describe_event(event: TimelineEvent) -> str:
    """One event as a comment shows it: ``DIN SessionSetupReq: EVCCID=...`` or the decode error."""
    title = f"{event.protocol} {event.message}"
    if event.error:
        return f"{title}: DECODE ERROR {_short(event.error, MAX_REASON_CHARS)}"
    fields = key_fields(event)
    return f"{title}: {fields}" if fields else title


def describe_check(check: CheckResult) -> str:
    """``PASS DIN-EVCC-02 every ServiceDiscoveryReq carries ...``; the reason too unless PASS."""
    text = (
        f"{check.verdict.value} {check.requirement or '-'} {_short(check.description, MAX_DESCRIPTION_CHARS)}"
    )
    if check.verdict.value != "PASS" and check.reason:
        text += f" ({_short(check.reason, MAX_REASON_CHARS)})"
    return text


def frame_comments(events: Iterable[TimelineEvent], checks: Iterable[CheckResult]) -> dict[int, str]:
    """The comment of every frame a timeline event or a check names (frame number -> text)."""
    described: dict[int, list[str]] = {}
    for event in events:
        described.setdefault(event.frame, []).append(describe_event(event))
    verdicts: dict[int, list[str]] = {}
    for check in checks:
        for frame in dict.fromkeys(check.frames):
            verdicts.setdefault(frame, []).append(describe_check(check))
    comments = {}
    for frame in sorted(described.keys() | verdicts.keys()):
        parts = [EVENT_SEPARATOR.join(described.get(frame, ["(not on the timeline)"]))]
        if frame in verdicts:
            parts.append("checks: " + "; ".join(verdicts[frame]))
        # One line: tshark's field output and Wireshark's packet list show a comment on one.
        comments[frame] = " ".join(CHECKS_SEPARATOR.join(parts).split())
    return comments


@dataclass(frozen=True, slots=True)
class Annotated:
    scenario: str
    capture: str  # relative to the run directory, as in results.json
    path: Path | None  # the annotated file; None when none could be written
    frames: int = 0
    commented: int = 0
    note: str | None = None


def annotate_scenario(run_dir: Path, scenario: ScenarioResult) -> Annotated | None:
    """Write the annotated copy of the scenario's capture; None when it recorded none.

    The timeline and the checks' frame numbers belong to the scenario's first capture (the one the
    timeline was read from, harness/scenario.py), so that capture is the one annotated.
    """
    if not scenario.evidence:
        return None
    capture = scenario.evidence[0].capture
    relative = Path(capture)
    if relative.is_absolute() or ".." in relative.parts:
        return Annotated(scenario.id, capture, None, note="capture path lies outside the run directory")
    source = run_dir / relative
    if not source.is_file():
        return Annotated(scenario.id, capture, None, note="capture file missing")
    timeline = load_timeline(run_dir, scenario.timeline)
    comments = frame_comments(timeline.events, scenario.checks)
    target = annotated_path(source)
    keylog = keylog_for(source)
    try:
        secrets = keylog.read_bytes() if keylog.is_file() else b""
        frames, commented = write_commented(source, target, comments, secrets)
    except (OSError, CaptureFormatError) as exc:
        return Annotated(scenario.id, capture, None, note=f"not annotated: {exc}")
    return Annotated(scenario.id, capture, target, frames, commented, timeline.note)


def annotate_run(results: Results, run_dir: Path) -> list[Annotated]:
    """Annotate every scenario's capture in ``run_dir``; returns what was written (or why not)."""
    run_dir = Path(run_dir)
    done = [annotate_scenario(run_dir, scenario) for scenario in results.scenarios]
    return [item for item in done if item is not None]
