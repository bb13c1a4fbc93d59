"""The requirement catalogue (catalogue.yaml beside this file): the one place each requirement lives."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

CATALOGUE_PATH = Path(__file__).with_name("catalogue.yaml")


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
def load_catalogue(path: Path = CATALOGUE_PATH) -> dict[str, Requirement]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out: dict[str, Requirement] = {}
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
            raise ValueError(f"requirement {req.id} appears twice in {path}")
        out[req.id] = req
    return out
