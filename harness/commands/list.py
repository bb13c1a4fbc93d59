"""`vgi list`: the features, scenarios, tags, interfaces and requirements the harness ships."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "list",
        help="list features and scenarios (or requirements)",
        description="List every feature and scenario with its id, interfaces, DUT roles and requirement ids; "
        "with --requirements, the requirement catalogue and the scenarios that check each requirement.",
    )
    parser.add_argument("--requirements", action="store_true", help="list the requirement catalogue instead")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from harness.inventory import load_inventory
    from harness.verdict.catalogue import load_catalogue

    scenarios = load_inventory()
    if args.requirements:
        for req in load_catalogue().values():
            covering = [s.id for s in scenarios if req.id in s.requirements]
            print(
                f"{req.id}  [{req.clause}]  interfaces {','.join(map(str, req.interfaces))}; "
                f"roles {','.join(req.roles)}\n    {req.text}\n"
                f"    checked by: {', '.join(covering) or 'NONE'}"
            )
        return 0
    feature = None
    for s in scenarios:
        if s.feature != feature:
            feature = s.feature
            print(f"\n{s.feature}: {s.feature_name}")
        rows = f" ({s.examples} examples)" if s.examples else ""
        print(
            f"  {s.id:<22} {s.name}{rows}\n  {'':<22} interfaces {','.join(map(str, s.interfaces))}; "
            f"dut {','.join(s.roles) or '-'}; req {', '.join(s.requirements)}; tags {' '.join(s.other_tags)}"
        )
    print(f"\n{len(scenarios)} scenario(s)")
    return 0
