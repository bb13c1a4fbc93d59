"""`vgi pki init DIR`: make the lab's IEEE 2030.5 test PKI (SERCA -> MCA -> MICA -> devices); with `--v2g`
the ISO 15118-2 one (V2G root -> CPO Sub-CA 1 -> CPO Sub-CA 2 -> SECC); with `--v2g20` the ISO 15118-20 one
(the same shape on secp521r1, plus OEM root -> OEM Sub-CAs -> vehicle certificate)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pki",
        help="manage the test PKIs (IEEE 2030.5; ISO 15118-2 with --v2g; ISO 15118-20 with --v2g20)",
        description="Manage the lab's IEEE 2030.5 test certificates.",
    )
    actions = parser.add_subparsers(dest="pki_command", metavar="ACTION")
    actions.required = True
    init = actions.add_parser(
        "init",
        help="create SERCA -> MCA -> MICA and one device certificate per role",
        description="Create a test PKI: a SERCA, MCA and MICA, one device certificate per role (ECDSA "
        "P-256, IEEE 2030.5 device profile, no DNS names), and for negative tests an 'unregistered' "
        "device certificate under the same MICA (valid, but no server registers its LFDI) and an "
        "'untrusted' one under an unrelated SERCA. Writes pki.json with every LFDI and SFDI.",
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
    init.add_argument(
        "--role",
        metavar="ROLE",
        default=None,
        help="issue a device certificate for the DUT playing ROLE (e.g. evse, or a name of your own): "
        "added to the existing PKI in DIR under its MICA, or to a new PKI made with the lab's roles; "
        "point the lab config at it with PIXIT certificates `sep2_pki: DIR` (process commands get "
        "{dut_cert} {dut_key} {trust_anchor}) or `dut_cert: DIR/ROLE/chain.pem` and "
        "`dut_key: DIR/ROLE/key.pem`",
    )
    init.add_argument(
        "--v2g",
        action="store_true",
        help="make the ISO 15118-2 test PKI instead: V2G root CA -> CPO Sub-CA 1 -> CPO Sub-CA 2 -> SECC "
        "certificate (ECDSA P-256, SHA-256; CN the EVSE ID), plus an expired SECC certificate and one under "
        "an unrelated root for negative tests; the EV side trusts v2g_root.pem. Point a lab at it with PIXIT "
        "certificates `v2g_pki: DIR`",
    )
    init.add_argument(
        "--v2g20",
        action="store_true",
        help="make the ISO 15118-20 test PKI instead: V2G root -> CPO Sub-CA 1 -> CPO Sub-CA 2 -> SECC "
        "certificate and OEM root -> OEM Sub-CA 1 -> OEM Sub-CA 2 -> vehicle certificate for mutual TLS 1.3 "
        "(ECDSA secp521r1, SHA-512; and an Ed448 twin of both under ed448/), plus an expired SECC "
        "certificate, an SECC and a vehicle certificate under unrelated roots for negative tests; the EV "
        "side trusts v2g_root.pem, the SECC secc_trust.pem. Point a lab at it with PIXIT certificates "
        "`v2g20_pki: DIR`",
    )
    init.add_argument(
        "--evse-id",
        metavar="EVSEID",
        default=None,
        help="with --v2g or --v2g20: the SECC certificate's commonName (default: ZZ00000, the reference "
        "SECC's EVSEID)",
    )
    init.add_argument(
        "--force", action="store_true", help="replace a PKI (or with --role, the role's certificate) in DIR"
    )
    init.set_defaults(handler=_init)


def _init(args: argparse.Namespace) -> int:
    from harness.commands import UsageError
    from harness.devices.sep2.common import UNREGISTERED_ROLE
    from harness.pki.hierarchy import PkiExists, init_pki, issue_device
    from harness.pki.profile import ROLES
    from harness.pki.store import MANIFEST_NAME, PkiError

    if args.v2g and args.v2g20:
        raise UsageError("--v2g (ISO 15118-2) and --v2g20 (ISO 15118-20) make different PKIs: choose one")
    if args.v2g:
        return _init_v2g(args)
    if args.v2g20:
        return _init_v2g20(args)
    roles = tuple(args.roles) if args.roles else ROLES
    # The unregistered-LFDI scenarios (TC_SEP2_I7_004, TC_SEP2_I8_004) present this one's certificate.
    roles += () if UNREGISTERED_ROLE in roles else (UNREGISTERED_ROLE,)
    if args.role is not None:
        from pathlib import Path

        try:
            if (Path(args.directory) / MANIFEST_NAME).exists():
                entry = issue_device(args.directory, args.role, force=args.force)
            else:
                devices = init_pki(args.directory, (*roles, args.role), force=args.force)["roles"]
                assert isinstance(devices, dict)
                entry = devices[args.role]
        except (PkiExists, PkiError, ValueError) as exc:
            raise UsageError(str(exc)) from exc
        print(f"certificate for {args.role} in {args.directory}: {entry['chain']} (key {entry['key']})")
        print(f"LFDI {entry['lfdi']}  SFDI {entry['sfdi']}  trust anchor {entry['trust_anchor']}")
        return 0
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


def _init_v2g(args: argparse.Namespace) -> int:
    from harness.commands import UsageError
    from harness.pki.v2g import DEFAULT_SECC_COMMON_NAME, ROOT_NAME, SECC_ENTRIES, V2gPkiError, init_v2g_pki

    if args.roles or args.role:
        raise UsageError("--v2g makes the ISO 15118-2 PKI: --roles and --role belong to the IEEE 2030.5 one")
    try:
        manifest = init_v2g_pki(
            args.directory, secc_common_name=args.evse_id or DEFAULT_SECC_COMMON_NAME, force=args.force
        )
    except (V2gPkiError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    entries = manifest["secc"]
    assert isinstance(entries, dict)
    print(f"ISO 15118-2 PKI written to {args.directory} (EV trust anchor: {ROOT_NAME})")
    for entry in SECC_ENTRIES:
        print(f"{entry:<13} {entries[entry]['chain']}  key {entries[entry]['key']}")
    return 0


def _init_v2g20(args: argparse.Namespace) -> int:
    from harness.commands import UsageError
    from harness.pki.v2g20 import (
        DEFAULT_SECC_COMMON_NAME,
        ENTRIES,
        SECC_TRUST_NAME,
        V2G_ROOT_NAME,
        V2g20PkiError,
        init_v2g20_pki,
    )

    if args.roles or args.role:
        raise UsageError(
            "--v2g20 makes the ISO 15118-20 PKI: --roles and --role belong to the IEEE 2030.5 one"
        )
    try:
        manifest = init_v2g20_pki(
            args.directory, secc_common_name=args.evse_id or DEFAULT_SECC_COMMON_NAME, force=args.force
        )
    except (V2g20PkiError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    entries = manifest["entries"]
    assert isinstance(entries, dict)
    print(
        f"ISO 15118-20 PKI written to {args.directory} (EV trust anchor: {V2G_ROOT_NAME}, "
        f"SECC trust anchors: {SECC_TRUST_NAME})"
    )
    for entry in ENTRIES:
        print(f"{entry:<17} {entries[entry]['chain']}  key {entries[entry]['key']}")
    return 0
