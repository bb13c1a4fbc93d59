"""The requirement ids checks cite, declared where they are cited and checked against the catalogue.

A check module names each requirement once, ``SLAC_EVSE_01 = requirement("SLAC-EVSE-01")``; the
registry remembers which module declared it.  :func:`unknown_requirements` lists the declared ids the
catalogue (harness/verdict/requirements/*.yaml) does not know; the harness plugin refuses to run with
any, so a misspelt id fails before a campaign starts instead of reporting against nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping

_DECLARED: dict[str, set[str]] = {}


def requirement(requirement_id: str, module: str | None = None) -> str:
    """Declare that ``module`` (default: the caller's) cites ``requirement_id``; returns the id."""
    if module is None:
        module = sys._getframe(1).f_globals.get("__name__", "?")
    _DECLARED.setdefault(requirement_id, set()).add(module)
    return requirement_id


def declared() -> dict[str, frozenset[str]]:
    """Every declared requirement id and the modules that declared it."""
    return {rid: frozenset(modules) for rid, modules in _DECLARED.items()}


def unknown_requirements(catalogue: Mapping[str, object] | Iterable[str]) -> list[str]:
    """One message per declared id missing from ``catalogue``, naming the modules that cite it."""
    known = set(catalogue)
    return [
        f"requirement {rid} (cited by {', '.join(sorted(modules))}) is not in the requirement catalogue"
        for rid, modules in sorted(_DECLARED.items())
        if rid not in known
    ]
