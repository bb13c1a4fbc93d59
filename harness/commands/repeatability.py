"""`vgi repeatability RUN_DIR...`: per scenario, whether several runs gave the same verdict."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from harness.commands import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "repeatability",
        help="whether several runs gave each scenario the same verdict",
        description="Compare several runs of one lab (run directories, e.g. the same campaign run five "
        "times, one scenario after another and in parallel): the scenarios whose verdict differed between "
        "runs (flipping), and those that reached one verdict only after a re-run in some run, each with "
        "its verdict and reason run by run. A flipping scenario is a defect of the scenario, of the "
        "reference device or of the DUT. Scenarios an interrupted run did not get to are left out of "
        "that run. Exit status: 1 when a scenario flipped, 0 otherwise, 2 on usage errors.",
    )
    parser.add_argument("runs", type=Path, nargs="+", metavar="RUN_DIR", help="two or more run directories")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from reports.diff import NotARunDirectory
    from reports.repeatability import compare_runs, document, format_text

    if len(args.runs) < 2:
        raise UsageError("give at least two run directories")
    try:
        rep = compare_runs(args.runs)
    except NotARunDirectory as exc:
        raise UsageError(str(exc)) from exc
    if args.json:
        print(json.dumps(document(rep), indent=2))
    else:
        print(format_text(rep), end="")
    return 1 if rep.flipping else 0
