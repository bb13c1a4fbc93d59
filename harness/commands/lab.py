"""`vgi lab validate FILE`, `vgi lab check LAB`, `vgi lab timers`, `vgi lab reference`: check a lab config
and the bench it describes; list the overridable timers; print the lab config reference."""

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
    check = lab_sub.add_parser(
        "check",
        help="pre-flight: is the bench ready for this lab? one line per check",
        description="Check the bench a lab config describes, one line per check with OK, FAIL or SKIP "
        "and, on FAIL, the remedy: interfaces exist and are up, capture is permitted, dumpcap/tshark are "
        "installed, the process DUT's command exists, its namespace is free, the ports are free, the "
        "certificates parse, chain to their trust anchor and fit the IEEE 2030.5 profile, nothing is left "
        "over from a killed run; then the probes: the PLC modem answers with its firmware version, the DUT "
        "answers (TCP connect, SDP, DNS-SD). Exit 0 when nothing failed, 1 when a check failed, 2 for a "
        "usage error (e.g. an invalid lab file).",
    )
    check.add_argument("lab", nargs="?", help="lab config file (default: the embedded sim lab)")
    check.add_argument(
        "--fix",
        action="store_true",
        help="remove what killed runs of the harness left (namespaces, veth pairs, processes); only what "
        "a run recorded as its own is ever removed",
    )
    check.add_argument(
        "--no-probes",
        action="store_true",
        help="only the cheap checks (no waiting for the modem or the DUT), as `vgi run` does",
    )
    check.set_defaults(handler=_check)
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


def _check(args: argparse.Namespace) -> int:
    from harness.commands.preflight import run_checks

    loaded = load_lab_or_usage_error(args.lab)
    print(f"lab {loaded.config.name} ({loaded.path}), access {loaded.config.access.kind}")
    failed = 0
    for line in run_checks(loaded, fix=args.fix, probes=not args.no_probes):
        print(line.render(), flush=True)
        failed += line.failed
    print(f"{failed} check(s) failed" if failed else "all checks passed")
    return 1 if failed else 0


def _timers(args: argparse.Namespace) -> int:
    from harness.lab.timers import known_timers

    timers = sorted(known_timers().values(), key=lambda t: t.name)
    width = max(len(timer.name) for timer in timers)
    for timer in timers:
        flag = " [unverified]" if timer.unverified else ""
        print(f"{timer.name:{width}} {timer.default_s:>8g} s  {timer.clause}{flag}")
        print(f"{'':{width}} {timer.description}")
    return 0


def _reference(args: argparse.Namespace) -> int:
    from harness.lab.reference import lab_reference_markdown

    print(lab_reference_markdown(), end="")
    return 0
