"""`vgi report RUN_DIR [--sign KEY [--cert CERT]]`: re-render the reports of a run from results.json,
rewrite manifest.sha256 and, with --sign, sign it."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import textwrap
from pathlib import Path

from harness.commands import UsageError
from reports.manifest import OPENSSL_VERIFY, SIGNATURE_FILE

# The environment variable holding the passphrase of an encrypted signing key (for CI; a terminal
# is asked instead when the variable is not set).
KEY_PASSWORD_ENV = "VGI_SIGN_KEY_PASSWORD"


def register(sub: argparse._SubParsersAction) -> None:
    prose = (
        "Re-render report.html, junit.xml and coverage.json of a run directory from its results.json and "
        "timelines, then rewrite manifest.sha256. With --sign, also write "
        f"{SIGNATURE_FILE}: a detached CMS (PKCS #7, DER) signature over manifest.sha256. Stock openssl "
        "verifies it, then sha256sum checks the files (CA.pem: the signer's certificate, or the CA that "
        "issued it):"
    )
    parser = sub.add_parser(
        "report",
        help="re-render the reports of a run (and sign it)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"{textwrap.fill(prose, 79)}\n\n  {OPENSSL_VERIFY}\n\n"
        + textwrap.fill(
            "`vgi verify RUN_DIR` checks the same and also names files the manifest does not list.", 100
        ),
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    parser.add_argument(
        "--sign",
        type=Path,
        metavar="KEY",
        help="sign the manifest with this private key (PEM or DER, EC or RSA); an encrypted key's "
        f"passphrase is read from ${KEY_PASSWORD_ENV} or asked for on the terminal",
    )
    parser.add_argument(
        "--cert",
        type=Path,
        metavar="CERT",
        help="the signer's certificate, or a chain file starting with it (its CA certificates go into "
        "the signature too); default: the certificate in the KEY file, when it holds one",
    )
    parser.add_argument(
        "--allure",
        action="store_true",
        help="write allure-results/ afresh from results.json, with each scenario's capture, annotated "
        "capture, timeline excerpt and sequence chart attached (without it, results allure-pytest-bdd "
        "wrote are updated in place)",
    )
    parser.add_argument(
        "--pdf",
        action="store_true",
        help="also write report.pdf, the compliance report to sign and hand over (cover, contents, PICS "
        "and PIXIT, summary, coverage, one section per scenario, signature block); with --sign it names "
        "the signer",
    )
    parser.set_defaults(handler=_handle)


def _passphrase(key: Path) -> bytes:
    if os.environ.get(KEY_PASSWORD_ENV):
        return os.environ[KEY_PASSWORD_ENV].encode("utf-8")
    if not sys.stdin.isatty():
        raise UsageError(f"{key}: the key is encrypted; set {KEY_PASSWORD_ENV} to its passphrase")
    return getpass.getpass(f"passphrase of {key}: ").encode("utf-8")


def _handle(args: argparse.Namespace) -> int:
    from reports.render import render_all

    if not (args.run_dir / "results.json").is_file():
        raise UsageError(f"{args.run_dir}: no results.json (not a run directory?)")
    if args.cert is not None and args.sign is None:
        raise UsageError("--cert names the signer's certificate; it needs --sign KEY")
    signer = None
    if args.sign is not None:
        from reports.signing import EncryptedKeyError, SigningError, load_signer

        # Load the key before re-rendering, so a wrong key or passphrase changes nothing.
        try:
            try:
                signer = load_signer(args.sign, args.cert)
            except EncryptedKeyError:
                signer = load_signer(args.sign, args.cert, _passphrase(args.sign))
        except SigningError as exc:
            raise UsageError(str(exc)) from exc
    pdf_signer = None
    if args.pdf and signer is not None:
        from reports.pdf import signer_view
        from reports.signing import describe

        pdf_signer = signer_view(describe(signer.certificate))
    for path in render_all(args.run_dir, regenerate_allure=args.allure, pdf=args.pdf, signer=pdf_signer):
        print(path)
    if signer is not None:
        from reports.signing import sign_manifest

        print(sign_manifest(args.run_dir, signer))
    return 0
