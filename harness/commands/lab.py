"""`vgi lab validate FILE` and `vgi lab timers`: check a lab config; list the overridable timers."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.commands import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("lab", help="lab configuration tools", description="Lab configuration tools.")
    lab_sub = parser.add_subparsers(dest="lab_command", metavar="LAB_COMMAND")
    lab_sub.required = True
    validate = lab_sub.add_parser(
        "validate",
        help="check a lab config; every problem with its YAML path and line",
        description="Validate a lab config file. Exit 0 when valid, 1 when not (every problem is listed "
        "with its YAML path and line number; unknown keys are errors).",
    )
    validate.add_argument("file", type=Path)
    validate.set_defaults(handler=_validate)
    timers = lab_sub.add_parser(
        "timers",
        help="list the timers PIXIT may override",
        description="List every protocol timer a lab "
        "config may override under pixit.timers, with its default and the clause it comes from.",
    )
    timers.set_defaults(handler=_timers)
    reference = lab_sub.add_parser(
        "reference",
        help="print the lab config reference (Markdown)",
        description="Print the reference of every lab config field, generated from the validating models.",
    )
    reference.set_defaults(handler=_reference)


def load_lab_or_usage_error(path: str | Path | None):
    """The lab at ``path`` (default: the embedded sim lab); a bad one is a usage error listing problems."""
    from harness.lab.loader import LabConfigError, load_lab
    from lab_configs import DEFAULT_LAB

    try:
        return load_lab(Path(path) if path else DEFAULT_LAB)
    except LabConfigError as exc:
        raise UsageError(str(exc)) from None


def _validate(args: argparse.Namespace) -> int:
    from harness.lab.loader import LabConfigError, load_lab

    try:
        loaded = load_lab(args.file)
    except LabConfigError as exc:
        print(str(exc))
        return 1
    cfg = loaded.config
    print(
        f"{args.file}: valid lab '{cfg.name}' — DUT {cfg.dut.vendor} {cfg.dut.model} "
        f"(roles {', '.join(cfg.dut.roles)}; interfaces {', '.join(map(str, cfg.dut.interfaces))}; "
        f"access {cfg.access.kind})"
    )
    return 0


def _timers(args: argparse.Namespace) -> int:
    from harness.lab.timers import known_timers

    for timer in sorted(known_timers().values(), key=lambda t: t.name):
        flag = " [unverified]" if timer.unverified else ""
        print(f"{timer.name:32} {timer.default_s:>8g} s  {timer.clause}{flag}\n{'':32} {timer.description}")
    return 0


def _reference(args: argparse.Namespace) -> int:
    from harness.lab.reference import lab_reference_markdown

    print(lab_reference_markdown(), end="")
    return 0
