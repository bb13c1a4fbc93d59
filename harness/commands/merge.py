"""`vgi merge RUN_DIR... --out DIR`: one run directory and report from the shards of a campaign."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.commands import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "merge",
        help="merge the run directories of a sharded campaign",
        description="Merge run directories of one campaign (typically `vgi run --shard I/N` on N machines) "
        "into a new run directory: the evidence is copied, results.json rebuilt from the scenarios of all of "
        "them, requirement verdicts recomputed and the reports rendered. Refuses runs of different lab "
        "configs or with a scenario in common. Exit status as `vgi run`: 0 only when every scenario is PASS "
        "or NOT_APPLICABLE.",
    )
    parser.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="new (or empty) run directory")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from harness.commands.run import summarise
    from harness.run_merge import MergeError, merge_runs

    try:
        merged = merge_runs(args.run_dirs, args.out)
    except MergeError as exc:
        raise UsageError(str(exc)) from None
    print(f"merged {len(args.run_dirs)} run directories into {args.out.resolve()}")
    return summarise(merged, args.out.resolve(), 0)
