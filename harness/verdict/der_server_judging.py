"""The DER server check kinds: a PFE/BMS or EVSE serving the DER function set, judged from the decrypted
capture of the tester following it as a DER client.

``der_server_programs``  what the server published: every DERProgram has a primacy and a
                         DefaultDERControl it serves; every DERControl has a positive duration and
                         randomization within OneHourRangeType; no two live controls of one program
                         overlap for the same mode with the same creationTime (equal primacy, and the
                         tie-breaker the event rules use is equal too, REFERENCE-DER.md section 1:
                         no client can tell which applies); every DERCurve a mode names is served.
``der_server_writes``    every PUT/POST of the tester with one of ``roots`` is answered 201 or 204.
``der_server_change``    a control the server cancels or supersedes (EventStatus.currentStatus 2, 3
                         or 4 after 0 or 1) is served so from the first poll after the status
                         dateTime (within one poll period plus ``slack_s``) and never reverts.
``der_authorization``    the J3072 program's DefaultDERControl keeps opModEnergize false until the EV
                         has PUT its DERCapability and DERSettings; then, for ``outcome`` authorized,
                         opModEnergize true; for refused, never true and a TextMessage starting with
                         ``refusal_prefix`` that gives a reason.

Server time comes from the capture's Time responses (:mod:`harness.verdict.der_timeline`) with the
spec's ``speedup``.  Keys: see :mod:`harness.verdict.checks.schema`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from capture.timeline import TimelineEvent
from harness.verdict.der_curves import curve_answers
from harness.verdict.der_timeline import (
    CONTROL,
    CONTROL_LIST,
    DEFAULT_CONTROL,
    HTTP,
    PROGRAM,
    PROGRAM_LIST,
    control_modes,
    hex_text,
    items,
    published,
    request_path,
    server_clock,
)
from harness.verdict.expectations import Outcome, Parties, missing_outcome
from harness.verdict.verdicts import Verdict

# sep.xsd PrimacyType (UInt8) and OneHourRangeType (-3600..3600 s).
PRIMACY_RANGE = range(0, 256)
ONE_HOUR_RANGE_S = 3600
# sep.xsd EventStatus.currentStatus: live (0 scheduled, 1 active) and changed by the server (2 cancelled,
# 3 cancelled with randomization, 4 superseded).
LIVE_STATUSES = frozenset({0, 1})
CHANGED_STATUSES = frozenset({2, 3, 4})
# IEEE 2030.5 answers to a successful write: 201 Created (POST), 204 No Content (PUT).
WRITE_ACCEPTED = frozenset({201, 204})
TEXT_MESSAGE_LIST = "TextMessageList"
TEXT_MESSAGE = "TextMessage"
ENERGIZE = "opModEnergize"
DEFAULT_SUFFIX = "/dderc"
# How many offending frames a reason names before "...".
SHOWN = 4


def _resource(event: TimelineEvent) -> dict[str, Any]:
    resource = event.fields.get("resource")
    return resource if isinstance(resource, dict) else {}


def _served(events: Sequence[TimelineEvent], parties: Parties, root: str | None = None) -> Iterator[int]:
    """Indexes of the DUT's 200 responses (with a ``root`` body)."""
    for index, event in enumerate(events):
        fields = event.fields
        if (
            event.protocol == HTTP
            and fields.get("status") == 200
            and not event.error
            and (root is None or fields.get("root") == root)
            and parties.matches("dut", event.src, event.sport)
        ):
            yield index


def _answer(events: Sequence[TimelineEvent], index: int) -> TimelineEvent | None:
    """The response to the request ``events[index]`` (the next one back on the same connection)."""
    request = events[index]
    for candidate in events[index + 1 :]:
        if (
            candidate.protocol == HTTP
            and "status" in candidate.fields
            and candidate.src == request.dst
            and candidate.sport == request.dport
            and candidate.dst == request.src
            and candidate.dport == request.sport
        ):
            return candidate
    return None


def _frames(frames: Sequence[int]) -> str:
    shown = ", ".join(str(f) for f in frames[:SHOWN])
    return shown + (" ..." if len(frames) > SHOWN else "")


# --- der_server_programs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Control:
    frame: int
    t: float
    program: str
    mrid: str
    creation: int | None
    start: int | None
    duration: int | None
    status: int | None
    modes: frozenset[str]
    data: dict[str, Any]


def _controls(events: Sequence[TimelineEvent], parties: Parties) -> Iterator[_Control]:
    """Every DERControl the DUT served (in lists or alone), with its program's href."""
    for index in _served(events, parties):
        event = events[index]
        root = event.fields.get("root")
        data = _resource(event)
        href = data.get("href") or request_path(events, index) or ""
        if root == CONTROL_LIST:
            program, listed = href.rsplit("/", 1)[0], items(data.get(CONTROL))
        elif root == CONTROL:
            program, listed = href.rsplit("/", 2)[0], [data]
        else:
            continue
        for item in listed:
            if not isinstance(item, dict):
                continue
            interval = item.get("interval") or {}
            status = item.get("EventStatus") or {}
            yield _Control(
                frame=event.frame,
                t=event.t,
                program=program,
                mrid=hex_text(item.get("mRID"), 32),
                creation=_int(item.get("creationTime")),
                start=_int(interval.get("start")),
                duration=_int(interval.get("duration")),
                status=_int(status.get("currentStatus")),
                modes=frozenset(control_modes(item.get("DERControlBase"))),
                data=item,
            )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _program_faults(
    events: Sequence[TimelineEvent], parties: Parties
) -> tuple[list[str], list[int], set[str]]:
    """(problems, frames, program hrefs) of the DERProgramLists and DERPrograms served."""
    problems: list[str] = []
    frames: list[int] = []
    programs: set[str] = set()
    for index in _served(events, parties):
        event = events[index]
        root = event.fields.get("root")
        if root == PROGRAM_LIST:
            listed = [p for p in items(_resource(event).get(PROGRAM)) if isinstance(p, dict)]
        elif root == PROGRAM:
            listed = [_resource(event)]
        else:
            continue
        for program in listed:
            href = program.get("href") or request_path(events, index) or "?"
            programs.add(href)
            primacy = _int(program.get("primacy"))
            if primacy is None or primacy not in PRIMACY_RANGE:
                problems.append(f"frame {event.frame}: DERProgram {href} primacy {program.get('primacy')!r}")
                frames.append(event.frame)
            if program.get("DefaultDERControlLink") is None:
                problems.append(f"frame {event.frame}: DERProgram {href} links no DefaultDERControl")
                frames.append(event.frame)
    return problems, frames, programs


def _control_faults(controls: Sequence[_Control]) -> tuple[list[str], list[int]]:
    problems: list[str] = []
    frames: list[int] = []
    for c in controls:
        bad = []
        if c.start is None or c.duration is None or c.duration <= 0:
            bad.append(f"interval start {c.start} duration {c.duration}")
        if c.creation is None:
            bad.append("no creationTime")
        for name in ("randomizeStart", "randomizeDuration"):
            value = _int(c.data.get(name))
            if value is not None and abs(value) > ONE_HOUR_RANGE_S:
                bad.append(f"{name} {value} outside +-{ONE_HOUR_RANGE_S} s")
        if not c.modes:
            bad.append("no mode in its DERControlBase")
        if bad:
            problems.append(f"frame {c.frame}: DERControl {c.mrid}: {'; '.join(bad)}")
            frames.append(c.frame)
    return problems, frames


def _overlaps(controls: Sequence[_Control]) -> tuple[list[str], list[int]]:
    """Live controls served in one response of one program that overlap for a mode with equal
    creationTime."""
    by_frame: dict[tuple[int, str], list[_Control]] = {}
    for c in controls:
        if c.status in LIVE_STATUSES and c.start is not None and c.duration:
            by_frame.setdefault((c.frame, c.program), []).append(c)
    problems: list[str] = []
    frames: list[int] = []
    reported: set[tuple[str, str]] = set()
    for (frame, program), listed in sorted(by_frame.items()):
        for i, a in enumerate(listed):
            for b in listed[i + 1 :]:
                assert a.start is not None and b.start is not None and a.duration and b.duration
                shared = a.modes & b.modes
                overlap = a.start < b.start + b.duration and b.start < a.start + a.duration
                pair = (min(a.mrid, b.mrid), max(a.mrid, b.mrid))
                if shared and overlap and a.creation == b.creation and pair not in reported:
                    reported.add(pair)
                    problems.append(
                        f"frame {frame}: program {program} serves {a.mrid} and {b.mrid} overlapping for "
                        f"{', '.join(sorted(shared))} with the same primacy and creationTime {a.creation}"
                    )
                    frames.append(frame)
    return problems, frames


def _curves(
    events: Sequence[TimelineEvent], parties: Parties, controls: Sequence[_Control]
) -> tuple[set[str], set[str], list[int]]:
    """(curve hrefs the modes name, those served as a DERCurve, frames naming them)."""
    named: set[str] = set()
    frames: list[int] = []
    for c in controls:
        for value in control_modes(c.data.get("DERControlBase")).values():
            if isinstance(value, str) and value.startswith("/"):
                named.add(value)
                frames.append(c.frame)
    for index in _served(events, parties, DEFAULT_CONTROL):
        for value in control_modes(_resource(events[index]).get("DERControlBase")).values():
            if isinstance(value, str) and value.startswith("/"):
                named.add(value)
                frames.append(events[index].frame)
    served = {href for _, href, _ in curve_answers(events, lambda e: parties.matches("dut", e.src, e.sport))}
    return named, served, frames


def check_der_server_programs(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    problems, frames, programs = _program_faults(events, parties)
    if not programs:
        return missing_outcome(spec, "the server served no DERProgram in the capture")
    controls = list(_controls(events, parties))
    for more in (_control_faults(controls), _overlaps(controls)):
        problems += more[0]
        frames += more[1]
    defaults = {
        _resource(events[i]).get("href") or request_path(events, i) or ""
        for i in _served(events, parties, DEFAULT_CONTROL)
    }
    for program in sorted(programs):
        if program + DEFAULT_SUFFIX not in defaults and not any(
            d.startswith(program + "/") for d in defaults
        ):
            problems.append(f"no DefaultDERControl of {program} served")
    named, served, curve_frames = _curves(events, parties, controls)
    missing_curves = sorted(named - served)
    if missing_curves:
        problems.append(f"DERCurve(s) {', '.join(missing_curves)} named by a mode but never served")
        frames += curve_frames
    if problems:
        more = f" (+{len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
        return Outcome(Verdict.FAIL, "; ".join(problems[:SHOWN]) + more, tuple(sorted(set(frames))))
    return Outcome(
        Verdict.PASS,
        f"{len(programs)} program(s) with primacy and defaults, {len({c.mrid for c in controls})} control(s) "
        f"with valid times and no ambiguous overlap, {len(named)} curve(s) served",
    )


# --- der_server_writes -----------------------------------------------------------------------------------


def check_der_server_writes(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    roots = list(spec["roots"])
    counts = dict.fromkeys(roots, 0)
    refused: list[str] = []
    frames: list[int] = []
    for index, event in enumerate(events):
        fields = event.fields
        root = fields.get("root")
        if (
            event.protocol != HTTP
            or fields.get("method") not in ("PUT", "POST")
            or root not in counts
            or not parties.matches("tester", event.src, event.sport)
        ):
            continue
        counts[root] += 1
        answer = _answer(events, index)
        status = answer.fields.get("status") if answer is not None else None
        if status not in WRITE_ACCEPTED:
            refused.append(
                f"frame {event.frame} {fields.get('method')} {root} {fields.get('path')}: {status}"
            )
            frames += [event.frame] + ([answer.frame] if answer is not None else [])
    if refused:
        return Outcome(
            Verdict.FAIL,
            f"{len(refused)} write(s) not accepted with 201/204: {'; '.join(refused[:SHOWN])}",
            tuple(frames),
        )
    absent = [root for root, n in counts.items() if n == 0]
    if absent:
        return missing_outcome(spec, f"the tester wrote no {', '.join(absent)} (nothing to judge)")
    shown = ", ".join(f"{n} {root}" for root, n in counts.items())
    return Outcome(Verdict.PASS, f"every write accepted with 201/204: {shown}")


# --- der_server_change -----------------------------------------------------------------------------------


def check_der_server_change(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    clock = server_clock(events, float(spec["speedup"]))
    if clock is None:
        return missing_outcome(spec, "no Time response in the capture: server time cannot be told")
    poll = spec.get("poll_period_s") or published(events, clock).poll_rate
    if not poll:
        return missing_outcome(spec, "no DERProgramList pollRate in the capture")
    bound = float(poll) + float(spec.get("slack_s", 0.0))
    live: dict[str, int] = {}  # mRID -> frame it was last served live
    changed: dict[str, tuple[int, int]] = {}  # mRID -> (frame, status) it was first served changed
    problems: list[str] = []
    frames: list[int] = []
    for c in _controls(events, parties):
        if c.status in LIVE_STATUSES:
            if c.mrid in changed:
                first = changed[c.mrid][0]
                problems.append(f"frame {c.frame}: {c.mrid} served live again after frame {first} changed it")
                frames += [first, c.frame]
            else:
                live[c.mrid] = c.frame
        elif c.status in CHANGED_STATUSES and c.mrid in live and c.mrid not in changed:
            changed[c.mrid] = (c.frame, c.status)
            since = _int((c.data.get("EventStatus") or {}).get("dateTime"))
            at = clock.at(c.t)
            if since is None or at - since > bound:
                problems.append(
                    f"frame {c.frame}: {c.mrid} first served with status {c.status} at server time "
                    f"{at:.0f}, {at - (since or 0):.0f} s after its status dateTime {since} "
                    f"(one poll period {poll} s + {spec.get('slack_s', 0)} s)"
                )
                frames += [live[c.mrid], c.frame]
    if problems:
        return Outcome(Verdict.FAIL, "; ".join(problems[:SHOWN]), tuple(sorted(set(frames))))
    if not changed:
        return missing_outcome(
            spec, "the capture shows no control the server cancelled or superseded after serving it"
        )
    shown = ", ".join(f"{mrid} -> {status} (frame {frame})" for mrid, (frame, status) in changed.items())
    return Outcome(
        Verdict.PASS,
        f"changes served within one poll and kept: {shown}",
        tuple(frame for frame, _ in changed.values()),
    )


# --- der_authorization -----------------------------------------------------------------------------------


def _first_put(events: Sequence[TimelineEvent], parties: Parties, root: str) -> TimelineEvent | None:
    for event in events:
        fields = event.fields
        if (
            event.protocol == HTTP
            and fields.get("method") == "PUT"
            and fields.get("root") == root
            and parties.matches("tester", event.src, event.sport)
        ):
            return event
    return None


def _texts(events: Sequence[TimelineEvent], parties: Parties) -> Iterator[tuple[int, str]]:
    for index in _served(events, parties):
        event = events[index]
        root = event.fields.get("root")
        data = _resource(event)
        listed = (
            items(data.get(TEXT_MESSAGE))
            if root == TEXT_MESSAGE_LIST
            else [data]
            if root == TEXT_MESSAGE
            else []
        )
        for message in listed:
            if isinstance(message, dict) and isinstance(message.get("textMessage"), str):
                yield event.frame, message["textMessage"]


def check_der_authorization(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    program = str(spec["program"])
    outcome = spec["outcome"]
    capability = _first_put(events, parties, "DERCapability")
    settings = _first_put(events, parties, "DERSettings")
    if capability is None or settings is None:
        return missing_outcome(spec, "the tester's DERCapability and DERSettings PUTs are not in the capture")
    checked = max(capability.frame, settings.frame)
    before: list[tuple[int, Any]] = []
    after: list[tuple[int, Any]] = []
    for index in _served(events, parties, DEFAULT_CONTROL):
        event = events[index]
        href = _resource(event).get("href") or request_path(events, index) or ""
        if href != program + DEFAULT_SUFFIX:
            continue
        energize = control_modes(_resource(event).get("DERControlBase")).get(ENERGIZE)
        (before if event.frame < checked else after).append((event.frame, energize))
    if not before:
        return missing_outcome(
            spec, f"no {program}{DEFAULT_SUFFIX} served before the EV's settings (frame {checked})"
        )
    early = [frame for frame, energize in before if energize is not False]
    if early:
        return Outcome(
            Verdict.FAIL,
            f"{program}{DEFAULT_SUFFIX} served without opModEnergize false before the EV's settings (frame "
            f"{checked}) could be checked: frames {_frames(early)}",
            (*early[:SHOWN], checked),
        )
    if not after:
        return missing_outcome(
            spec, f"no {program}{DEFAULT_SUFFIX} served after the EV's settings (frame {checked})"
        )
    granted = [frame for frame, energize in after if energize is True]
    if outcome == "authorized":
        if not granted:
            return Outcome(
                Verdict.FAIL,
                f"{program}{DEFAULT_SUFFIX} never carries opModEnergize true after the EV's settings "
                f"(frames {_frames([f for f, _ in after])})",
                tuple(f for f, _ in after[:SHOWN]),
            )
        return Outcome(
            Verdict.PASS,
            f"opModEnergize false until the settings (frame {checked}), true from frame {granted[0]}",
            (checked, granted[0]),
        )
    if granted:
        return Outcome(
            Verdict.FAIL,
            f"the EV was authorized (opModEnergize true, frames {_frames(granted)}) although its settings "
            "should be refused",
            (checked, *granted[:SHOWN]),
        )
    prefix = str(spec["refusal_prefix"])
    reasons = [
        (f, t) for f, t in _texts(events, parties) if t.startswith(prefix) and t[len(prefix) :].strip()
    ]
    if not reasons:
        return Outcome(
            Verdict.FAIL,
            f"refused (opModEnergize stays false) but no TextMessage starting {prefix!r} gives a reason",
            (checked,),
        )
    frame, text = reasons[0]
    return Outcome(
        Verdict.PASS, f"opModEnergize stays false; frame {frame} tells the EV: {text!r}", (checked, frame)
    )
