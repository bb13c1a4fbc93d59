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
    parser.add_argument("role", choices=sorted(SIM_ROLES), help="which device to run")
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
    faults = frozenset(args.fault) | frozenset(getattr(loaded.config.access, "faults", ()))
    if args.service is not None and args.service not in SIM_ROLES[args.role]:
        raise UsageError(
            f"role {args.role} has no service {args.service!r}; known: {sorted(SIM_ROLES[args.role])}"
        )
    # The edge: the lab is translated once into the plain settings the reference devices take.
    settings = device_settings(loaded.config, loaded.path.parent)
    run_device(args.role, link_on_interface(args.interface), settings, faults, args.service)
    return 0
