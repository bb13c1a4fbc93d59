"""`vgi sim ROLE`: run a reference device standalone, so a vendor can test its device against ours."""

from __future__ import annotations

import argparse

from harness.commands import UsageError
from harness.devices.catalog import SIM_FAULTS, SIM_ROLES


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "sim",
        help="run a reference device until interrupted",
        description="Run one of the harness's reference devices on a network interface until Ctrl-C. "
        "The device uses the PICS/PIXIT of the lab config (default: the embedded lab).",
    )
    parser.add_argument(
        "role",
        choices=[*sorted(SIM_ROLES), "modem"],
        help="which device to run; `modem`: one emulated HomePlug Green PHY modem sharing --interface "
        "with a SLAC stack that talks to its local modem (see --role)",
    )
    parser.add_argument(
        "--role",
        dest="modem_role",
        choices=["ev", "evse"],
        default=None,
        help="for `modem`: whose modem it is (an EVSE's reports CM_ATTEN_PROFILE.IND per M-Sound)",
    )
    parser.add_argument(
        "--attenuation",
        default=None,
        help="for `modem --role evse`: the attenuation profile it reports, one dB value or 58 comma "
        "separated values (default: about 22 dB)",
    )
    parser.add_argument(
        "--no-ip-gate",
        dest="ip_gate",
        action="store_false",
        help="for `modem`: leave IPv6 on the interface on before the match (default: off until linked)",
    )
    parser.add_argument(
        "--lab", type=str, default=None, help="lab config for PICS/PIXIT (default: embedded sim lab)"
    )
    parser.add_argument(
        "--interface",
        default="lo",
        help="interface to serve on: a real port or veth with IPv6 link-local, or 'lo' (default) for ::1",
    )
    parser.add_argument(
        "--service",
        default=None,
        help="which of the role's reference devices to run: "
        + "; ".join(f"{role}: {', '.join(services)}" for role, services in SIM_ROLES.items())
        + " (default: the first)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        choices=sorted(SIM_FAULTS),
        help="switch on a fault (repeatable): " + "; ".join(f"{k}: {v}" for k, v in SIM_FAULTS.items()),
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from harness.commands.lab import load_lab_or_usage_error
    from harness.devices.runner import run_device
    from harness.lab.settings import device_settings
    from harness.transport.link import link_on_interface

    loaded = load_lab_or_usage_error(args.lab)
    if args.role == "modem":
        if args.modem_role is None:
            raise UsageError("`vgi sim modem` needs --role ev or --role evse")
        if args.interface == "lo":
            raise UsageError("`vgi sim modem` needs --interface: the Ethernet interface its host uses")
        from harness.devices.modem_process import serve

        try:
            serve(args.interface, args.modem_role, args.attenuation, args.ip_gate)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        return 0
    faults = frozenset(args.fault) | frozenset(getattr(loaded.config.access, "faults", ()))
    if args.service is not None and args.service not in SIM_ROLES[args.role]:
        raise UsageError(
            f"role {args.role} has no service {args.service!r}; known: {sorted(SIM_ROLES[args.role])}"
        )
    # The edge: the lab is translated once into the plain settings the reference devices take.
    settings = device_settings(loaded.config, loaded.path.parent)
    run_device(args.role, link_on_interface(args.interface), settings, faults, args.service)
    return 0
