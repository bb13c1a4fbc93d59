"""The requirement catalogue (the YAML files of requirements/ beside this module, one per protocol):
the one place each requirement lives."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from harness.verdict.results import RequirementResult, ScenarioResult
from harness.verdict.verdicts import combine

CATALOGUE_DIR = Path(__file__).with_name("requirements")


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    clause: str
    text: str
    interfaces: tuple[int, ...]
    roles: tuple[str, ...]
    check: str
    unverified: bool = False


@cache
def load_catalogue(directory: Path = CATALOGUE_DIR) -> dict[str, Requirement]:
    out: dict[str, Requirement] = {}
    for path in sorted(directory.glob("*.yaml")):
        _load_file(path, out)
    return out


def _load_file(path: Path, out: dict[str, Requirement]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for entry in data["requirements"]:
        req = Requirement(
            id=entry["id"],
            clause=entry["clause"],
            text=entry["text"],
            interfaces=tuple(entry["interfaces"]),
            roles=tuple(entry["roles"]),
            check=entry["check"],
            unverified=bool(entry.get("unverified", False)),
        )
        if req.id in out:
            raise ValueError(f"requirement {req.id} appears twice (again in {path.name})")
        out[req.id] = req


def requirement_results(scenarios: list[ScenarioResult]) -> list[RequirementResult]:
    """Each catalogue requirement with the scenarios of a run that check it and their worst verdict."""
    catalogue = load_catalogue()
    out = []
    for req in catalogue.values():
        covering = [s for s in scenarios if req.id in s.requirements]
        out.append(
            RequirementResult(
                id=req.id,
                clause=req.clause,
                text=req.text,
                interfaces=list(req.interfaces),
                roles=list(req.roles),
                scenarios=[s.id for s in covering],
                verdict=combine([s.verdict for s in covering]) if covering else None,
            )
        )
    return out
