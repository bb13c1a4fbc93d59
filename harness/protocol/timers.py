"""The registry of every protocol timer a lab may override through PIXIT.

Each protocol module registers its timers here with the default and the clause it comes from, so a
lab config can name them, `vgi lab validate` can reject unknown names, and the README documents them
from one place.  The registry imports no protocol module (protocols depend on it, not the other way):
the edge's catalogue, :func:`harness.lab.timers.known_timers`, imports every module that registers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar


@dataclass(frozen=True, slots=True)
class TimerDef:
    name: str
    default_s: float
    clause: str
    description: str
    unverified: bool = False  # REFERENCE.md marks the value [unverified]: configurable, flagged in reports


TIMERS: dict[str, TimerDef] = {}


def register_timer(
    name: str, default_s: float, clause: str, description: str, *, unverified: bool = False
) -> float:
    """Register a timer and return its default, so a module can write
    ``SDP_RETRY_INTERVAL_S = register_timer("SDP_RETRY_INTERVAL", 0.25, ...)``."""
    existing = TIMERS.get(name)
    definition = TimerDef(name, default_s, clause, description, unverified)
    if existing is not None and existing != definition:
        raise ValueError(f"timer {name} registered twice with different definitions")
    TIMERS[name] = definition
    return default_s


# A protocol's timer table: timings field -> (timer name, clause, description[, unverified]).
TimerTableEntries = Mapping[str, tuple[Any, ...]]
_Timings = TypeVar("_Timings")


def register_timings(defaults: object, table: TimerTableEntries, prefix: str = "") -> None:
    """Register every timer of a protocol's ``table`` under ``prefix`` + its name, with the default the
    protocol's timings dataclass (``defaults``) holds for its field."""
    for field_name, (timer, clause, description, *flags) in table.items():
        unverified = bool(flags and flags[0])
        register_timer(
            prefix + timer, getattr(defaults, field_name), clause, description, unverified=unverified
        )


def timings_from_lab(
    cls: Callable[..., _Timings], table: TimerTableEntries, timer: Callable[[str], float], prefix: str = ""
) -> _Timings:
    """A protocol's timings for a lab: each field from ``timer``, its PIXIT lookup by registry name."""
    return cls(**{field_name: timer(prefix + entry[0]) for field_name, entry in table.items()})
