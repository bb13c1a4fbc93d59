"""The requirement catalogue (the YAML files of requirements/ beside this module, one per protocol):
the one place each requirement lives."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

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
