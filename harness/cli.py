"""The `vgi` command: one argparse parser, one module per sub-command under harness.commands."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from harness import __version__
from harness.commands import COMMAND_MODULES, UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vgi",
        description="Conformance test harness for vehicle-grid integration (SAE J2836/J2847, "
        "ISO 15118, DIN SPEC 70121, IEEE 2030.5).",
    )
    parser.add_argument("--version", action="version", version=f"vgi {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and pytest's own output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f"harness.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except UsageError as exc:
        if args.debug:
            raise
        print(f"vgi: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error of ours.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silences the interpreter's flush at exit
        return 0
    except KeyboardInterrupt:
        print("vgi: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that turns any failure into one line
        if args.debug:
            raise
        print(
            f"vgi: error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
