"""Generic typed builders of expectation specs: selectors, sequence items and the six check kinds.

Each builder is a frozen dataclass whose :meth:`spec` returns the plain JSON spec of
:mod:`harness.verdict.expectations`, validated against :mod:`.schema`.  An optional key left
:data:`UNSET` is left out of the spec (the evaluator's default applies), so a builder reproduces any
spec written before the builders existed key for key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Final

from harness.verdict.checks.schema import validate_spec
from harness.verdict.verdicts import Verdict

TESTER: Final = "tester"
DUT: Final = "dut"

Where = Mapping[str, Any]


class _Unset:
    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset()


# --- field predicates (the operator dicts of a ``where``) ------------------------------------------


def ne(value: Any) -> dict[str, Any]:
    return {"ne": value}


def eq(value: Any) -> dict[str, Any]:
    return {"eq": value}


def one_of(values: Iterable[Any]) -> dict[str, Any]:
    return {"in": list(values)}


def has_any(values: Iterable[Any]) -> dict[str, Any]:
    """A repeated element (a list in the codec's shape, or one value) holds at least one of ``values``."""
    return {"has_any": list(values)}


def between(low: Any, high: Any) -> dict[str, Any]:
    return {"range": [low, high]}


def prefix(text: str) -> dict[str, Any]:
    return {"prefix": text}


PRESENT: Final = {"ne": None}  # the field is there (and not null)


# --- selectors ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Selector:
    """Which timeline events a check looks at: protocol, message, sender (``from``: tester, dut or an
    address), receiver (``to``), malformed or not (``error``), and field predicates (``where``)."""

    protocol: str | None = None
    message: str | None = None
    sender: str | None = None
    to: str | None = None
    error: bool | None = None
    where: Where | None = None

    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (
            ("protocol", self.protocol),
            ("message", self.message),
            ("from", self.sender),
            ("to", self.to),
            ("error", self.error),
        ):
            if value is not None:
                out[key] = value
        if self.where is not None:
            out["where"] = dict(self.where)
        return out

    def matching(self, **where: Any) -> Selector:
        """This selector with more field predicates (keyword form, for plain field names)."""
        return self.matching_fields(where)

    def matching_fields(self, where: Where) -> Selector:
        """This selector with more field predicates (dotted names)."""
        return Selector(
            self.protocol, self.message, self.sender, self.to, self.error, {**(self.where or {}), **where}
        )

    def sent_to(self, receiver: str) -> Selector:
        return Selector(self.protocol, self.message, self.sender, receiver, self.error, self.where)


def select(
    protocol: str | None = None,
    message: str | None = None,
    *,
    sender: str | None = None,
    to: str | None = None,
    error: bool | None = None,
    where: Where | None = None,
) -> Selector:
    return Selector(protocol, message, sender, to, error, where)


def malformed(protocol: str | None = None, sender: str | None = None) -> Selector:
    """Frames that do not decode (of ``protocol``, if given)."""
    return Selector(protocol=protocol, sender=sender, error=True)


# --- checks -------------------------------------------------------------------------------------------


def _spec_value(value: Any) -> Any:
    if isinstance(value, Selector | Item):
        return value.spec()
    if isinstance(value, Verdict):
        return value.value
    if isinstance(value, tuple | list):
        return [_spec_value(v) for v in value]
    if isinstance(value, Mapping):
        return dict(value)
    return value


def _spec_of(obj: Any, renames: Mapping[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if value is UNSET:
            continue
        out[(renames or {}).get(f.name, f.name)] = _spec_value(value)
    return out


@dataclass(frozen=True, slots=True)
class Item:
    """One step of a sequence pattern: ``min``..``max`` consecutive events (default exactly one;
    ``max=None`` is unbounded)."""

    select: Selector
    min: int | _Unset = UNSET
    max: int | None | _Unset = UNSET

    def spec(self) -> dict[str, Any]:
        return _spec_of(self)


def repeated(selector: Selector, low: int = 1, high: int | None = None) -> Item:
    """A sequence item that may repeat: ``low`` or more (up to ``high``) events."""
    return Item(selector, low, high)


def once(selector: Selector) -> Item:
    return Item(selector)


class Check:
    """A check kind: :meth:`spec` is its validated JSON spec."""

    kind: ClassVar[str]

    def spec(self) -> dict[str, Any]:
        out = {"kind": self.kind, **_spec_of(self)}
        validate_spec(out)
        return out


@dataclass(frozen=True, slots=True)
class Present(Check):
    """Events matching ``select`` occur ``min`` (default 1) to ``max`` (default unbounded) times; with
    ``connection="first"`` counted on the connection of the first event of the selector's protocol only."""

    kind: ClassVar[str] = "present"
    select: Selector
    min: int | _Unset = UNSET
    max: int | None | _Unset = UNSET
    on_missing: Verdict | _Unset = UNSET
    precondition: bool | _Unset = UNSET
    connection: str | _Unset = UNSET


def absent(
    selector: Selector, on_missing: Verdict | _Unset = UNSET, connection: str | _Unset = UNSET
) -> Present:
    """No event matches ``selector`` (on the first connection only, with ``connection="first"``)."""
    return Present(selector, 0, 0, on_missing, connection=connection)


@dataclass(frozen=True, slots=True)
class Fields(Check):
    """Every event matching ``select`` satisfies ``where``."""

    kind: ClassVar[str] = "fields"
    select: Selector
    where: Where = field(default_factory=dict)
    on_missing: Verdict | _Unset = UNSET
    precondition: bool | _Unset = UNSET


@dataclass(frozen=True, slots=True)
class ResponseTime(Check):
    """Every ``request`` is answered by a ``response`` (back to its sender) within ``max_s``."""

    kind: ClassVar[str] = "response_time"
    request: Selector
    response: Selector
    max_s: float
    until_next_request: bool | _Unset = UNSET
    on_missing: Verdict | _Unset = UNSET
    precondition: bool | _Unset = UNSET


@dataclass(frozen=True, slots=True)
class NoResponse(Check):
    """No ``request`` is answered by a ``response`` within ``window_s``."""

    kind: ClassVar[str] = "no_response"
    request: Selector
    response: Selector
    window_s: float
    until_next_request: bool | _Unset = UNSET
    on_missing: Verdict | _Unset = UNSET
    precondition: bool | _Unset = UNSET


@dataclass(frozen=True, slots=True)
class Interval(Check):
    """Consecutive ``select`` events are at least ``min_s`` (and at most ``max_s``) apart, lower bound
    loosened by ``tolerance_s`` (the capture's timestamp jitter)."""

    kind: ClassVar[str] = "interval"
    select: Selector
    min_s: float | _Unset = UNSET
    max_s: float | None | _Unset = UNSET
    tolerance_s: float | _Unset = UNSET
    per_source: bool | _Unset = UNSET
    on_missing: Verdict | _Unset = UNSET
    precondition: bool | _Unset = UNSET


@dataclass(frozen=True, slots=True)
class Sequence(Check):
    """The events matching the pattern's selectors follow the pattern (``complete``: nothing else of
    theirs after it)."""

    kind: ClassVar[str] = "sequence"
    pattern: tuple[Item, ...]
    complete: bool | _Unset = UNSET
    on_missing: Verdict | _Unset = UNSET
    precondition: bool | _Unset = UNSET


def sequence(
    *items: Item | Selector, complete: bool | _Unset = UNSET, on_missing: Verdict | _Unset = UNSET
) -> Sequence:
    """A sequence of items (a bare selector is one event)."""
    return Sequence(tuple(i if isinstance(i, Item) else Item(i) for i in items), complete, on_missing)
