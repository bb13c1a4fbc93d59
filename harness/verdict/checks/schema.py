"""The schema of expectation specs: which keys each kind takes and of what type.

A spec with an unknown key (a misspelt ``mni`` for ``min``) or a value of the wrong type is a harness
bug: it is refused when a step builds it and judged ERROR when `vgi analyze RUN_DIR` meets it in a
results.json, with a message naming the key and the kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.verdict.verdicts import Verdict


class SpecError(ValueError):
    """An expectation that cannot be evaluated as written: a harness bug, judged ERROR."""


OPERATORS = ("eq", "ne", "in", "range", "prefix", "has_any")
SELECTOR_KEYS = ("protocol", "message", "from", "to", "error", "where")
SEQUENCE_ITEM_KEYS = ("select", "min", "max")

_Checker = Callable[[Any, str], None]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _expect(ok: bool, where: str, wanted: str, value: Any) -> None:
    if not ok:
        raise SpecError(f"{where} must be {wanted}, not {value!r}")


def _string(value: Any, where: str) -> None:
    _expect(isinstance(value, str), where, "a string", value)


def _boolean(value: Any, where: str) -> None:
    _expect(isinstance(value, bool), where, "true or false", value)


def _seconds(value: Any, where: str) -> None:
    _expect(_is_number(value) and value >= 0, where, "a number of seconds", value)


def _seconds_or_none(value: Any, where: str) -> None:
    if value is not None:
        _seconds(value, where)


def _count(value: Any, where: str) -> None:
    _expect(_is_count(value), where, "a count (an integer >= 0)", value)


def _count_or_none(value: Any, where: str) -> None:
    if value is not None:
        _count(value, where)


def _verdict(value: Any, where: str) -> None:
    names = [v.value for v in Verdict]
    _expect(isinstance(value, str) and value in names, where, f"one of {names}", value)


def check_where(where: Any, context: str) -> None:
    """A ``where`` map: field name -> value (equality) or an operator dict."""
    _expect(isinstance(where, Mapping), context, "a map of field name to value", where)
    for name, expected in where.items():
        _string(name, f"{context}: a field name")
        if not isinstance(expected, Mapping):
            continue
        at = f"{context}[{name!r}]"
        if not expected:
            raise SpecError(f"{at}: an empty operator map")
        for op, arg in expected.items():
            if op not in OPERATORS:
                raise SpecError(f"{at}: unknown field operator {op!r} (known: {', '.join(OPERATORS)})")
            if op in ("in", "has_any"):
                _expect(isinstance(arg, list | tuple), f"{at}.{op}", "a list", arg)
            elif op == "range":
                _expect(
                    isinstance(arg, list | tuple) and len(arg) == 2, f"{at}.range", "a list [low, high]", arg
                )
            elif op == "prefix":
                _string(arg, f"{at}.prefix")


# The connections a ``present`` check may be narrowed to (harness.verdict.expectations.ConnectionScope).
CONNECTIONS = ("first",)


def _connection(value: Any, where: str) -> None:
    _expect(value in CONNECTIONS, where, f"one of {', '.join(CONNECTIONS)}", value)


def check_selector(selector: Any, context: str) -> None:
    _expect(isinstance(selector, Mapping), context, "a selector map", selector)
    for key, value in selector.items():
        if key not in SELECTOR_KEYS:
            raise SpecError(f"{context}: unknown selector key {key!r} (known: {', '.join(SELECTOR_KEYS)})")
        if key == "error":
            _boolean(value, f"{context}.error")
        elif key == "where":
            check_where(value, f"{context}.where")
        else:
            _string(value, f"{context}.{key}")


def _pattern(value: Any, where: str) -> None:
    _expect(isinstance(value, list | tuple) and len(value) > 0, where, "a non-empty list", value)
    for index, item in enumerate(value):
        at = f"{where}[{index}]"
        _expect(isinstance(item, Mapping), at, "a sequence item map", item)
        for key in item:
            if key not in SEQUENCE_ITEM_KEYS:
                raise SpecError(
                    f"{at}: unknown sequence item key {key!r} (known: {', '.join(SEQUENCE_ITEM_KEYS)})"
                )
        if "select" not in item:
            raise SpecError(f"{at}: a sequence item needs 'select'")
        check_selector(item["select"], f"{at}.select")
        if "min" in item:
            _count(item["min"], f"{at}.min")
        if "max" in item:
            _count_or_none(item["max"], f"{at}.max")


# der_power rules (harness.verdict.der_judging).
DER_POWER_RULES = (
    "authorization",
    "energize",
    "connect",
    "commanded",
    "max_lim",
    "fixed",
    "ramp",
    "exports",
    "power_factor",
    "drlc",
    "window",
    "volt_var",
    "freq_watt",
)


def _speedup(value: Any, where: str) -> None:
    _expect(_is_number(value) and value > 0, where, "a clock speedup above 0", value)


def _strings(value: Any, where: str) -> None:
    strings = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
    _expect(strings, where, "a list of strings", value)


def _status_map(value: Any, where: str) -> None:
    _expect(isinstance(value, Mapping), where, "a map of mRID to statuses", value)
    for key, statuses in value.items():
        _string(key, f"{where}: an mRID")
        _expect(
            isinstance(statuses, list | tuple) and statuses and all(_is_count(s) for s in statuses),
            f"{where}[{key!r}]",
            "a non-empty list of status codes",
            statuses,
        )


def _power_rules(value: Any, where: str) -> None:
    _expect(
        isinstance(value, list | tuple) and value and all(v in DER_POWER_RULES for v in value),
        where,
        f"a non-empty list of {', '.join(DER_POWER_RULES)}",
        value,
    )


def _grid_loop_judge(value: Any, where: str) -> None:
    _expect(value in ("demand", "latency"), where, "demand or latency", value)


def _authorization_outcome(value: Any, where: str) -> None:
    _expect(value in ("authorized", "refused"), where, "authorized or refused", value)


# Keys every kind takes: the verdict when nothing to judge was seen, and whether the check is a tester
# precondition (not met: the scenario is INCONCLUSIVE, harness.verdict.expectations.evaluate).
_COMMON: dict[str, _Checker] = {"on_missing": _verdict, "precondition": _boolean}
_REQUEST_RESPONSE: dict[str, _Checker] = {
    "request": check_selector,
    "response": check_selector,
    "until_next_request": _boolean,
}

# kind -> (required keys, {key: checker}); "kind" itself is implied.
KINDS: dict[str, tuple[tuple[str, ...], dict[str, _Checker]]] = {
    "present": (
        ("select",),
        {
            "select": check_selector,
            "min": _count,
            "max": _count_or_none,
            "connection": _connection,
            **_COMMON,
        },
    ),
    "fields": (("select", "where"), {"select": check_selector, "where": check_where, **_COMMON}),
    "response_time": (
        ("request", "response", "max_s"),
        {**_REQUEST_RESPONSE, "max_s": _seconds, **_COMMON},
    ),
    "no_response": (
        ("request", "response", "window_s"),
        {**_REQUEST_RESPONSE, "window_s": _seconds, **_COMMON},
    ),
    "interval": (
        ("select",),
        {
            "select": check_selector,
            "min_s": _seconds,
            "max_s": _seconds_or_none,
            "tolerance_s": _seconds,
            "per_source": _boolean,
            **_COMMON,
        },
    ),
    "sequence": (("pattern",), {"pattern": _pattern, "complete": _boolean, **_COMMON}),
    # DER client judgements (harness.verdict.der_judging): times in server seconds, power in W.
    "der_responses": (
        ("speedup",),
        {
            "speedup": _speedup,
            "slack_s": _seconds,
            "poll_period_s": _seconds,
            "published": _strings,
            "require": _status_map,
            "user_choices": _boolean,
            "server_revision": _count,
            **_COMMON,
        },
    ),
    "der_power": (
        ("speedup", "rules"),
        {
            "speedup": _speedup,
            "rules": _power_rules,
            "tolerance_w": _seconds,
            "settle_s": _seconds,
            "authorization_program": _string,
            "comm_loss_polls": _count,
            "pf_tolerance": _seconds,
            "var_tolerance": _seconds,
            "min_grid_points": _count,
            **_COMMON,
        },
    ),
    "der_poll_rate": (
        ("speedup", "poll_rate_s"),
        {
            "speedup": _speedup,
            "poll_rate_s": _count,
            "tolerance_s": _seconds,
            "min_polls": _count,
            **_COMMON,
        },
    ),
    # The grid-to-EV loop (harness.verdict.der_grid_loop): server seconds, W.
    "der_grid_loop": (
        ("speedup", "control", "judge"),
        {
            "speedup": _speedup,
            "control": _string,
            "judge": _grid_loop_judge,
            "tolerance_w": _seconds,
            "max_latency_s": _seconds_or_none,
            "cycles": _count,
            "jitter_s": _seconds,
            **_COMMON,
        },
    ),
    # DER server judgements (harness.verdict.der_server_judging).
    "der_server_programs": ((), {**_COMMON}),
    "der_server_writes": (("roots",), {"roots": _strings, **_COMMON}),
    "der_server_change": (
        ("speedup",),
        {"speedup": _speedup, "slack_s": _seconds, "poll_period_s": _seconds, **_COMMON},
    ),
    "der_authorization": (
        ("program", "outcome", "refusal_prefix"),
        {"program": _string, "outcome": _authorization_outcome, "refusal_prefix": _string, **_COMMON},
    ),
}


def validate_spec(spec: Any) -> None:
    """Raise :class:`SpecError` naming the kind and the key if ``spec`` is not a valid expectation."""
    _expect(isinstance(spec, Mapping), "an expectation", "a map", spec)
    kind = spec.get("kind")
    if kind not in KINDS:
        raise SpecError(f"unknown expectation kind {kind!r} (known: {', '.join(KINDS)})")
    required, checkers = KINDS[kind]
    for key in spec:
        if key != "kind" and key not in checkers:
            raise SpecError(f"{kind} spec: unknown key {key!r} (known: {', '.join(checkers)})")
    for key in required:
        if key not in spec:
            raise SpecError(f"{kind} spec: missing required key {key!r}")
    for key, value in spec.items():
        if key != "kind":
            checkers[key](value, f"{kind} spec: {key}")
