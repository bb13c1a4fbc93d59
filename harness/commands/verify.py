"""`vgi verify RUN_DIR [--cert CERT | --ca CA]`: check a run's manifest, its signature and its signer."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from harness.commands import UsageError
from reports.manifest import MANIFEST_FILE, OPENSSL_VERIFY, SIGNATURE_FILE


def register(sub: argparse._SubParsersAction) -> None:
    prose = (
        f"Check every line of RUN_DIR/{MANIFEST_FILE} (files missing, changed, or present but not listed "
        f"are named), then the detached signature {SIGNATURE_FILE} over it (as `vgi report --sign` writes "
        "it), then the signer: with --cert it must be that certificate, with --ca its certificate must "
        "chain to one in the CA file and be valid when it signed; with neither, the signer is only named. "
        "Exit status 0 when everything holds, 1 otherwise, 2 on usage errors. The same check with stock "
        "tools (which do not notice files the manifest does not list):"
    )
    parser = sub.add_parser(
        "verify",
        help="check a signed run: every file, the signature and the signer",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"{textwrap.fill(prose, 79)}\n\n  {OPENSSL_VERIFY}",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    trust = parser.add_mutually_exclusive_group()
    trust.add_argument(
        "--cert", type=Path, metavar="CERT", help="the certificate the run must be signed with"
    )
    trust.add_argument(
        "--ca", type=Path, metavar="CA", help="CA certificate(s) (PEM) the signer must chain to"
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from reports.signing import SigningError, verify_run

    if not args.run_dir.is_dir():
        raise UsageError(f"{args.run_dir}: not a directory")
    for option in (args.cert, args.ca):
        if option is not None and not option.is_file():
            raise UsageError(f"{option}: no such file")
    try:
        result = verify_run(args.run_dir, cert_path=args.cert, ca_path=args.ca)
    except SigningError as exc:  # a --cert or --ca file that holds no certificate
        raise UsageError(str(exc)) from exc
    for problem in result.problems:
        print(f"FAIL  {problem}")
    if result.signer is not None:
        when = result.signed_at.isoformat() if result.signed_at else "no signing time"
        print(f"signer: {result.signer} ({when}); checked against {result.trust}")
    if result.ok:
        print(f"OK    {args.run_dir}: every file matches {MANIFEST_FILE} and its signature verifies")
        return 0
    print(f"{len(result.problems)} problem(s)")
    return 1
