"""`vgi report RUN_DIR`: re-render report.html, junit.xml and manifest.sha256 from results.json."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.commands import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report",
        help="re-render the reports of a run",
        description="Re-render report.html and junit.xml of a run directory from its results.json and "
        "timelines, then rewrite manifest.sha256.",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from reports.render import render_all

    if not (args.run_dir / "results.json").is_file():
        raise UsageError(f"{args.run_dir}: no results.json (not a run directory?)")
    for path in render_all(args.run_dir):
        print(path)
    return 0
