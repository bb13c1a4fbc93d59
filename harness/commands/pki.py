"""`vgi pki init DIR`: make the lab's IEEE 2030.5 test PKI (SERCA -> MCA -> MICA -> devices)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pki",
        help="manage the IEEE 2030.5 test PKI",
        description="Manage the lab's IEEE 2030.5 test certificates.",
    )
    actions = parser.add_subparsers(dest="pki_command", metavar="ACTION")
    actions.required = True
    init = actions.add_parser(
        "init",
        help="create SERCA -> MCA -> MICA and one device certificate per role",
        description="Create a test PKI: a SERCA, MCA and MICA, one device certificate per role (ECDSA "
        "P-256, IEEE 2030.5 device profile, no DNS names), and an 'untrusted' device certificate "
        "under an unrelated SERCA for negative tests. Writes pki.json with every LFDI and SFDI.",
    )
    init.add_argument("directory", metavar="DIR", help="where to write the PKI")
    init.add_argument(
        "--roles",
        nargs="+",
        metavar="ROLE",
        default=None,
        help="roles to issue device certificates for (default: the lab's roles: "
        "pfe-server bms ev evse dc-charger telematics meter)",
    )
    init.add_argument("--force", action="store_true", help="replace a PKI that already exists in DIR")
    init.set_defaults(handler=_init)


def _init(args: argparse.Namespace) -> int:
    from harness.commands import UsageError
    from harness.pki.hierarchy import PkiExists, init_pki
    from harness.pki.profile import ROLES

    roles = tuple(args.roles) if args.roles else ROLES
    try:
        manifest = init_pki(args.directory, roles, force=args.force)
    except PkiExists as exc:
        raise UsageError(str(exc)) from exc
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    devices = manifest["roles"]
    assert isinstance(devices, dict)
    print(f"PKI written to {args.directory} (trust anchor: {manifest['trust_anchor']})")
    print(f"{'role':<12} {'LFDI':<40} SFDI")
    for role, entry in devices.items():
        print(f"{role:<12} {entry['lfdi']:<40} {entry['sfdi']}")
    return 0
