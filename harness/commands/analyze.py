"""`vgi analyze CAPTURE|RUN_DIR`: decode a capture offline, or re-judge a finished run from its captures."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from harness.commands import UsageError

if TYPE_CHECKING:
    from harness.analysis import CaptureAnalysis


# json.dumps(..., separators=(",", ":")) without building an encoder for every line.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "analyze",
        help="decoded timeline and checks of a capture, or re-judge a run directory",
        description="With a pcap/pcapng file: print its decoded timeline (SLAC, SDP, V2GTP, TCP link events, "
        "decode errors with byte offsets) and the protocol-level checks that need no scenario. With a run "
        "directory: "
        "re-evaluate every scenario from its capture alone and compare with the live verdicts (exit 1 on any "
        "difference).",
    )
    parser.add_argument("target", type=Path, metavar="CAPTURE|RUN_DIR")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    target: Path = args.target
    if target.is_dir():
        return _run_dir(target, args.json)
    if target.is_file():
        return _capture(target, args.json)
    raise UsageError(f"{target}: no such capture file or run directory")


def _capture(path: Path, as_json: bool) -> int:
    """Streams: each event is printed as it is decoded and then dropped, so the output of a capture
    of any size starts at once and memory does not grow with it (the JSON document is written piece
    by piece, byte for byte what ``json.dumps(..., indent=1)`` of the whole would give)."""
    from capture.reader import CaptureReadError
    from harness.analysis import CaptureAnalysis

    analysis = CaptureAnalysis(path, keep_frames=as_json)
    out = sys.stdout
    try:
        if as_json:
            _json_document(analysis, out)
        else:
            _text(analysis, out)
    except CaptureReadError as exc:
        raise UsageError(str(exc)) from None
    return 0


def _json_document(analysis: CaptureAnalysis, out: TextIO) -> None:
    out.write('{\n "timeline": [')
    count = 0
    for event in analysis.events():
        out.write(",\n  " if count else "\n  ")
        out.write(json.dumps(event.to_json(), indent=1).replace("\n", "\n  "))
        count += 1
    out.write("\n ]" if count else "]")
    checks = [
        {
            "requirement": c.requirement,
            "description": c.description,
            "verdict": c.verdict.value,
            "reason": c.reason,
            "frames": c.frames,
        }
        for c in analysis.checks()
    ]
    out.write(',\n "checks": ' + json.dumps(checks, indent=1).replace("\n", "\n ") + "\n}\n")


def _text(analysis: CaptureAnalysis, out: TextIO) -> None:
    t0: float | None = None
    count = 0
    for e in analysis.events():
        if t0 is None:
            t0 = e.t
        d = datetime.fromtimestamp(e.t, UTC)  # shown as HH:MM:SS.mmm (milliseconds cut, not rounded)
        stamp = f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}.{d.microsecond // 1000:03d}"
        ports = f" {e.sport}->{e.dport}" if e.sport is not None else ""
        line = f"{e.frame:>6} {stamp} +{(e.t - t0) * 1000:9.1f} ms  {e.src} -> {e.dst}{ports}  "
        line += f"{e.protocol} {e.message}"
        if e.error:
            line += f"  !! {e.error}"
        elif e.fields:
            line += "  " + _COMPACT_JSON.encode(e.fields)[:160]
        out.write(line + "\n")
        count += 1
    out.write(f"\n{count} events\n")
    for c in analysis.checks():
        out.write(f"{c.verdict.value:<14} {c.requirement or '-':<12} {c.description}: {c.reason}\n")


def _run_dir(run_dir: Path, as_json: bool) -> int:
    from harness.analysis import analyze_run

    try:
        judged = analyze_run(run_dir)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{run_dir}: not a readable run directory ({exc})") from None
    if as_json:
        print(json.dumps({"scenarios": [j.to_json() for j in judged]}, indent=1))
    else:
        for j in judged:
            mark = "" if j.agrees else f"   <-- live run said {j.live_verdict.value}"
            source = "capture" if j.from_capture else "carried"
            print(f"{j.verdict.value:<14} {j.id} [{source}] {j.reason}{mark}")
        differ = sum(not j.agrees for j in judged)
        print(f"\n{len(judged)} scenario(s) re-judged, {differ} differ from the live run")
    return 0 if all(j.agrees for j in judged) else 1
