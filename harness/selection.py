"""Which scenarios a run selects: `--interface N` and `--tags EXPR`.

A tag expression combines tag names with ``and``, ``or``, ``not`` and parentheses; a name may carry
``@`` and shell-style wildcards (``req:SDP-*``).  ``slac or pilot`` matches a scenario tagged
either; ``interface:4 and not dut:evcc`` the interface 4 scenarios that test an SECC.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")

Predicate = Callable[[frozenset[str]], bool]


class TagExpressionError(ValueError):
    pass


def parse_tag_expression(text: str) -> Predicate:
    tokens = [m.group(1) for m in _TOKEN.finditer(text)]
    if not tokens:
        raise TagExpressionError("empty tag expression")
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise TagExpressionError(f"tag expression {text!r} ends too early")
        pos += 1
        return tokens[pos - 1]

    def parse_or() -> Predicate:
        left = parse_and()
        while peek() == "or":
            take()
            right = parse_and()
            left = (lambda a, b: lambda tags: a(tags) or b(tags))(left, right)
        return left

    def parse_and() -> Predicate:
        left = parse_not()
        while peek() == "and":
            take()
            right = parse_not()
            left = (lambda a, b: lambda tags: a(tags) and b(tags))(left, right)
        return left

    def parse_not() -> Predicate:
        if peek() == "not":
            take()
            inner = parse_not()
            return lambda tags: not inner(tags)
        return parse_atom()

    def parse_atom() -> Predicate:
        token = take()
        if token == "(":
            inner = parse_or()
            if take() != ")":
                raise TagExpressionError(f"missing ')' in {text!r}")
            return inner
        if token in (")", "and", "or", "not"):
            raise TagExpressionError(f"unexpected {token!r} in {text!r}")
        pattern = token.removeprefix("@")
        return lambda tags: any(fnmatch.fnmatchcase(tag, pattern) for tag in tags)

    predicate = parse_or()
    if pos != len(tokens):
        raise TagExpressionError(f"unexpected {tokens[pos]!r} in {text!r}")
    return predicate


def tag_values(tags: Iterable[str], prefix: str) -> list[str]:
    """Values of ``prefix:value`` tags, in order."""
    head = prefix + ":"
    return [t[len(head) :] for t in tags if t.startswith(head)]


class ShardError(ValueError):
    pass


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` (1 <= I <= N): the I-th of N deterministic slices of a campaign (`vgi run --shard`)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise ShardError(f"{text!r} is not I/N (e.g. 1/2)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ShardError(f"{text!r}: I must be between 1 and N, and N at least 1")
    return index, count


def in_shard(position: int, shard: tuple[int, int]) -> bool:
    """Whether the scenario at ``position`` (0-based, in the selection's collection order, which is the
    same on every machine for the same features) belongs to ``shard``: round robin, so that the long
    scenarios of one feature file spread over the shards and the shards take about equal time."""
    index, count = shard
    return position % count == index - 1
