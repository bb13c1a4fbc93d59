"""`vgi diff RUN_A RUN_B`: scenarios added or removed, verdicts changed, answer times that moved."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.commands import UsageError

# An answer-time statistic moved when it changed by more than this percentage of run A's value ...
DEFAULT_THRESHOLD_PERCENT = 50.0
# ... and by more than this many milliseconds: on a software bench most answers take under 1 ms, and
# their jitter alone moves them by far more than any percentage.
DEFAULT_MIN_DELTA_MS = 5.0


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "diff",
        help="compare two runs: verdicts and answer times",
        description="Compare run B with run A (two run directories): scenarios added or removed, "
        "verdicts that changed and in which direction (a regression is PASS or NOT_APPLICABLE in A and "
        "FAIL, ERROR or INCONCLUSIVE in B), and per message type the answer-time p50, p95 and max that "
        "moved beyond the threshold. Answer times are the request/answer pairs the response_time "
        "checks timed. Exit status: 1 when a verdict regressed (or, with --fail-on-slower, an answer "
        "time got slower beyond both thresholds), 0 otherwise, 2 on usage errors (e.g. not a run "
        "directory).",
    )
    parser.add_argument("run_a", type=Path, metavar="RUN_A", help="the earlier run (e.g. the last firmware)")
    parser.add_argument("run_b", type=Path, metavar="RUN_B", help="the run to judge against it")
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD_PERCENT,
        metavar="PERCENT",
        help="an answer-time p50, p95 or max moved when it changed by more than PERCENT of run A's value "
        f"(default: {DEFAULT_THRESHOLD_PERCENT:g})",
    )
    parser.add_argument(
        "--min-delta-ms",
        type=float,
        default=DEFAULT_MIN_DELTA_MS,
        metavar="MS",
        help="... and by more than MS milliseconds, so sub-millisecond jitter never counts "
        f"(default: {DEFAULT_MIN_DELTA_MS:g})",
    )
    parser.add_argument(
        "--fail-on-slower",
        action="store_true",
        help="also exit 1 when an answer time got slower beyond both thresholds (by default slower "
        "answers are listed only: an answer past its limit already fails its check)",
    )
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from reports.diff import NotARunDirectory, diff_document, diff_runs, format_text

    if args.threshold < 0 or args.min_delta_ms < 0:
        raise UsageError("--threshold and --min-delta-ms must not be negative")
    try:
        diff = diff_runs(
            args.run_a, args.run_b, args.threshold, args.min_delta_ms / 1000.0, args.fail_on_slower
        )
    except NotARunDirectory as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print(json.dumps(diff_document(diff), indent=2))
    else:
        print(format_text(diff), end="")
    return 1 if diff.regressed else 0
