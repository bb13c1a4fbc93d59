"""Expectations over a timeline, and their evaluation into verdicts with evidence.

An expectation is plain data (a JSON-compatible ``spec``), so a live run stores it in results.json
and `vgi analyze RUN_DIR` evaluates it again over the capture alone.  Kinds:

``present``        events matching ``select`` occur between ``min`` and ``max`` times
``fields``         every event matching ``select`` satisfies ``where``
``response_time``  every ``request`` is answered by a ``response`` (reverse direction) within ``max_s``
``no_response``    no ``request`` is answered by a ``response`` within ``window_s``
``interval``       consecutive ``select`` events are at least ``min_s`` (and at most ``max_s``) apart
``sequence``       the events matching the pattern's selectors follow ``pattern`` (with repetition)
``der_responses``  a DER client's DERControlResponses against the oracle (harness.verdict.der_judging)
``der_power``      a DER client's real-power readings against the modes in effect (same module)
``der_poll_rate``  a DER client adopts a changed DERProgramList pollRate (same module)
``der_grid_loop``  a DC charger turns a DER control into V2G discharge (harness.verdict.der_grid_loop)

Selectors: ``{"protocol": ..., "message": ..., "from": "tester"|"dut"|ADDRESS, "to": ..., "error":
bool, "where": {...}}``.  ``where`` maps a field name (dots for nesting; ``sport``/``dport`` for
ports) to a value (equality) or an operator dict: ``eq``, ``ne``, ``in``, ``range`` [lo, hi],
``prefix``, ``has_any`` (a repeated element, decoded as a list, holds at least one of the values
given; a ``*`` in the field name steps into every element of a repeated element on the way).
``on_missing`` (default FAIL) is the verdict when nothing the check needs was seen.
``connection: "first"`` (``present`` only) counts only events on the connection that carried the first
event of the selector's protocol: the session a fault was aimed at, not a new session the DUT may open after
ending it.
``precondition`` (default false) marks a check of the tester's own conduct: not met, it is INCONCLUSIVE
and so is the scenario, whatever the other checks say (harness.scenario.summarise_checks).
``tolerance_s`` loosens lower time bounds by the capture's timestamp jitter.

:mod:`harness.verdict.checks.schema` lists the keys each kind takes; :func:`evaluate` refuses a spec
with any other (judged ERROR), and :mod:`harness.verdict.checks` builds specs from typed parts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from capture.timeline import TimelineEvent
from harness.verdict.checks.schema import SpecError, validate_spec
from harness.verdict.results import CheckResult
from harness.verdict.verdicts import Verdict

__all__ = ["CHECKS", "Outcome", "Parties", "SpecError", "evaluate", "validate_spec"]


@dataclass(frozen=True, slots=True)
class Outcome:
    verdict: Verdict
    reason: str
    frames: tuple[int, ...] = ()

    def result(self, spec: dict[str, Any], description: str, requirement: str | None) -> CheckResult:
        """The check's record in results.json."""
        return CheckResult(
            requirement=requirement,
            spec=spec,
            description=description,
            verdict=self.verdict,
            reason=self.reason,
            frames=list(self.frames),
        )


@dataclass(frozen=True, slots=True)
class Parties:
    """Which endpoints are the tester's; everything else on the link is the DUT's.

    An entry is an address (the tester owns it wholly, as on a veth link) or ``[address]:port`` (on
    loopback tester and DUT share ::1 and only their ports tell them apart)."""

    tester: frozenset[str]

    def is_tester(self, address: str, port: int | None) -> bool:
        return address in self.tester or (port is not None and f"[{address}]:{port}" in self.tester)

    def matches(self, who: str, address: str, port: int | None = None) -> bool:
        if who == "tester":
            return self.is_tester(address, port)
        if who == "dut":
            return not self.is_tester(address, port)
        return address == who


_MISSING = object()


def field_value(event: TimelineEvent, name: str) -> Any:
    """The value at the dotted path ``name``; a ``*`` part takes every element of a repeated element (a
    list in the codec's shape, or one value) and the path goes on in each, giving the list of what was
    found (for ``has_any``: e.g. ``...ParameterSet.*.Parameter.*.Name``)."""
    if name in ("sport", "dport", "src", "dst"):
        return getattr(event, name)
    return _walk(event.fields, name.split("."))


def _walk(value: Any, parts: list[str]) -> Any:
    for index, part in enumerate(parts):
        if part == "*":
            found = []
            for item in value if isinstance(value, list) else [value]:
                inner = _walk(item, parts[index + 1 :])
                if inner is not _MISSING:
                    found.extend(inner if isinstance(inner, list) and "*" in parts[index + 1 :] else [inner])
            return found if found else _MISSING
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _predicate_holds(value: Any, expected: Any) -> bool:
    if not isinstance(expected, dict):
        return value == expected
    if value is _MISSING:
        return False
    for op, arg in expected.items():
        if op == "eq" and value != arg:
            return False
        if op == "ne" and value == arg:
            return False
        if op == "in" and value not in arg:
            return False
        if op == "range" and not (arg[0] <= value <= arg[1]):
            return False
        if op == "prefix" and not str(value).lower().startswith(str(arg).lower()):
            return False
        if op == "has_any" and not any(v in arg for v in (value if isinstance(value, list) else [value])):
            return False
        if op not in ("eq", "ne", "in", "range", "prefix", "has_any"):
            raise SpecError(f"unknown field operator {op!r}")
    return True


def failed_predicates(event: TimelineEvent, where: dict[str, Any]) -> list[str]:
    out = []
    for name, expected in where.items():
        value = field_value(event, name)
        if not _predicate_holds(value, expected):
            shown = "absent" if value is _MISSING else repr(value)
            out.append(f"{name} is {shown}, expected {expected!r}")
    return out


def selects(selector: dict[str, Any], event: TimelineEvent, parties: Parties) -> bool:
    for key in ("protocol", "message"):
        if key in selector and selector[key] != getattr(event, key):
            return False
    if "from" in selector and not parties.matches(selector["from"], event.src, event.sport):
        return False
    if "to" in selector and not parties.matches(selector["to"], event.dst, event.dport):
        return False
    if "error" in selector and bool(event.error) != selector["error"]:
        return False
    return not failed_predicates(event, selector.get("where", {}))


def describe(selector: dict[str, Any]) -> str:
    text = selector.get("message") or selector.get("protocol") or "event"
    if selector.get("error"):
        text = f"malformed {selector.get('protocol', '')} frame".replace("  ", " ")
    if "from" in selector:
        text += (
            f" from the {selector['from']}"
            if selector["from"] in ("tester", "dut")
            else f" from {selector['from']}"
        )
    return text


def missing_outcome(spec: dict[str, Any], reason: str) -> Outcome:
    """The outcome when nothing a check needs was seen: the spec's ``on_missing`` verdict (default FAIL)."""
    return Outcome(Verdict(spec.get("on_missing", Verdict.FAIL)), reason)


def ms_text(seconds: float) -> str:
    """A duration in seconds as milliseconds for a reason text (``12.3 ms``)."""
    return f"{seconds * 1000:.1f} ms"


def connection_of(event: TimelineEvent) -> frozenset[tuple[str, int | None]]:
    """The connection an event travels on, the same in both directions."""
    return frozenset(((event.src, event.sport), (event.dst, event.dport)))


class ConnectionScope:
    """A ``present`` spec's ``connection``: fed every event in capture order, it admits all of them, or with
    ``"first"`` those on the connection of the first event of the selector's protocol."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.active = spec.get("connection") == "first"
        self.protocol = spec["select"].get("protocol")
        self.first: frozenset[tuple[str, int | None]] | None = None

    def admits(self, event: TimelineEvent) -> bool:
        if not self.active:
            return True
        if self.first is None and self.protocol in (None, event.protocol):
            self.first = connection_of(event)
        return connection_of(event) == self.first


def _check_present(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    scope = ConnectionScope(spec)
    hits = [e for e in events if scope.admits(e) and selects(spec["select"], e, parties)]
    first_error = next(((e.frame, e.error) for e in hits if e.error), None)
    return present_outcome(spec, len(hits), tuple(e.frame for e in hits), first_error)


def present_outcome(
    spec: dict, hits: int, frames: tuple[int, ...], first_error: tuple[int, str] | None = None
) -> Outcome:
    """A ``present`` check's outcome from how many events it selected (and their frames): one text for
    :func:`evaluate` and the streaming judge alike.  ``first_error`` (frame, decoder's words) of the first
    selected event that did not decode says why, when too many were selected (e.g. malformed frames)."""
    low, high = spec.get("min", 1), spec.get("max")
    what = describe(spec["select"]) + _where_text(spec["select"])
    if hits < low:
        if not hits:
            return missing_outcome(spec, f"no {what} in the capture (expected at least {low})")
        return Outcome(Verdict.FAIL, f"{hits} x {what}, expected at least {low}", frames)
    if high is not None and hits > high:
        why = f" (frame {first_error[0]}: {first_error[1]})" if first_error else ""
        return Outcome(Verdict.FAIL, f"{hits} x {what}{why}, at most {high} allowed", frames)
    return Outcome(
        Verdict.PASS,
        f"{hits} x {what}" + (f" (limit {low}..{high})" if high is not None else ""),
        frames,
    )


def _where_text(selector: dict[str, Any]) -> str:
    """The field predicates of a selector as a reason shows them (``with ResponseCode FAILED``), so that
    "no CurrentDemandRes" is not read as none at all when one with another code is there."""
    where = selector.get("where")
    if not where:
        return ""
    parts = []
    for name, expected in where.items():
        field = name.rsplit(".", 1)[-1]
        if isinstance(expected, dict) and len(expected) == 1:
            ((op, arg),) = expected.items()
            shown = "present" if (op, arg) == ("ne", None) else arg if op == "eq" else f"{op} {arg!r}"
        else:
            shown = expected
        parts.append(f"{field} {shown}")
    return " with " + ", ".join(parts)


def _check_fields(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    hits = [e for e in events if selects(spec["select"], e, parties)]
    if not hits:
        return missing_outcome(spec, f"no {describe(spec['select'])} to check")
    for event in hits:
        problems = failed_predicates(event, spec["where"])
        if problems:
            return Outcome(
                Verdict.FAIL, f"frame {event.frame} {event.message}: " + "; ".join(problems), (event.frame,)
            )
    return Outcome(
        Verdict.PASS,
        f"{len(hits)} x {describe(spec['select'])}: all fields as required",
        tuple(e.frame for e in hits),
    )


def is_answer(request: TimelineEvent, candidate: TimelineEvent) -> bool:
    """Whether ``candidate`` travels back to the sender of ``request`` (from the one it was sent
    to, unless the request was multicast), on the port it came from."""
    if candidate.dst != request.src:
        return False
    if request.sport is not None and candidate.dport is not None and candidate.dport != request.sport:
        return False
    return request.dst.lower().startswith("ff") or candidate.src == request.dst


def _responses(spec: dict, events: Sequence[TimelineEvent], parties: Parties):
    """(request, first answer or None, delay) per request; an answer must precede the next request."""
    requests = [i for i, e in enumerate(events) if selects(spec["request"], e, parties)]
    for n, index in enumerate(requests):
        request = events[index]
        stop = (
            requests[n + 1] if n + 1 < len(requests) and spec.get("until_next_request", True) else len(events)
        )
        answer = None
        for candidate in events[index + 1 : stop]:
            if is_answer(request, candidate) and selects(spec["response"], candidate, parties):
                answer = candidate
                break
        yield request, answer, (answer.t - request.t) if answer else None


def _check_response_time(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    limit = spec["max_s"]
    pairs = list(_responses(spec, events, parties))
    if not pairs:
        return missing_outcome(spec, f"no {describe(spec['request'])} was seen, so no answer could be timed")
    worst = 0.0
    frames: list[int] = []
    for request, answer, delay in pairs:
        if answer is None or delay is None:
            return Outcome(
                Verdict.FAIL,
                f"{describe(spec['request'])} in frame {request.frame} got no {describe(spec['response'])}",
                (request.frame,),
            )
        frames += [request.frame, answer.frame]
        if delay > limit:
            return Outcome(
                Verdict.FAIL,
                f"answer to frame {request.frame} took {ms_text(delay)} "
                f"(frame {answer.frame}), limit {ms_text(limit)}",
                (request.frame, answer.frame),
            )
        worst = max(worst, delay)
    return Outcome(
        Verdict.PASS,
        f"{len(pairs)} answer(s), slowest {ms_text(worst)}, limit {ms_text(limit)}",
        tuple(frames),
    )


def _check_no_response(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    window = spec["window_s"]
    pairs = list(_responses(spec, events, parties))
    if not pairs:
        return missing_outcome(spec, f"no {describe(spec['request'])} was sent")
    for request, answer, delay in pairs:
        if answer is not None and delay is not None and delay <= window:
            return Outcome(
                Verdict.FAIL,
                f"{describe(spec['request'])} in frame {request.frame} was answered by "
                f"{answer.message} in frame {answer.frame} after {ms_text(delay)}",
                (request.frame, answer.frame),
            )
    return Outcome(
        Verdict.PASS,
        f"{len(pairs)} x {describe(spec['request'])}, none answered within {ms_text(window)}",
        tuple(r.frame for r, _, _ in pairs),
    )


def _check_interval(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    hits = [e for e in events if selects(spec["select"], e, parties)]
    # With per_source, intervals are measured per sender (a capture may hold several EVCCs).
    groups: dict[str, list[TimelineEvent]] = {}
    for event in hits:
        groups.setdefault(event.src if spec.get("per_source") else "", []).append(event)
    gaps = [(b.t - a.t, a, b) for group in groups.values() for a, b in zip(group, group[1:], strict=False)]
    if not gaps:
        return missing_outcome(spec, f"{len(hits)} x {describe(spec['select'])}: an interval needs two")
    low = spec.get("min_s", 0.0) - spec.get("tolerance_s", 0.0)
    high = spec.get("max_s")
    for gap, a, b in gaps:
        if gap < low or (high is not None and gap > high):
            bound = f"at least {ms_text(spec.get('min_s', 0.0))}"
            if high is not None:
                bound += f" and at most {ms_text(high)}"
            return Outcome(
                Verdict.FAIL,
                f"frames {a.frame} -> {b.frame}: {ms_text(gap)} apart, expected {bound}",
                (a.frame, b.frame),
            )
    shortest = min(g for g, _, _ in gaps)
    return Outcome(
        Verdict.PASS, f"{len(gaps)} interval(s), shortest {ms_text(shortest)}", tuple(e.frame for e in hits)
    )


def _check_sequence(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    pattern = spec["pattern"]
    relevant = [e for e in events if any(selects(item["select"], e, parties) for item in pattern)]
    if not relevant:
        return missing_outcome(spec, "none of the sequence's messages was seen")
    memo: dict[tuple[int, int], bool] = {}

    def match(pi: int, ei: int) -> bool:
        # pattern item pi may consume ``min..max`` events from ei on, greedily with backtracking
        key = (pi, ei)
        if key in memo:
            return memo[key]
        if pi == len(pattern):
            result = ei == len(relevant) or not spec.get("complete", True)
        else:
            item = pattern[pi]
            low, high = item.get("min", 1), item.get("max", 1)
            count, result = 0, False
            while True:
                if count >= low and match(pi + 1, ei + count):
                    result = True
                    break
                if (high is not None and count >= high) or ei + count >= len(relevant):
                    break
                if not selects(item["select"], relevant[ei + count], parties):
                    break
                count += 1
        memo[key] = result
        return result

    frames = tuple(e.frame for e in relevant)
    if match(0, 0):
        return Outcome(Verdict.PASS, "order: " + " -> ".join(_compress(relevant)), frames)
    return Outcome(
        Verdict.FAIL,
        "unexpected order: "
        + " -> ".join(_compress(relevant))
        + "; expected "
        + " -> ".join(_pattern_text(pattern)),
        frames,
    )


def _compress(events: Sequence[TimelineEvent]) -> list[str]:
    out: list[str] = []
    for event in events:
        name = event.message if not event.error else f"{event.protocol} malformed"
        if out and out[-1].split(" x")[0] == name:
            head, _, n = out[-1].partition(" x")
            out[-1] = f"{head} x{int(n or 1) + 1}"
        else:
            out.append(name)
    return out


def _pattern_text(pattern: Sequence[dict]) -> list[str]:
    out = []
    for item in pattern:
        low, high = item.get("min", 1), item.get("max", 1)
        suffix = "" if (low, high) == (1, 1) else f"{{{low},{'' if high is None else high}}}"
        out.append(describe(item["select"]) + suffix)
    return out


CHECKS: dict[str, Callable[[dict, Sequence[TimelineEvent], Parties], Outcome]] = {
    "present": _check_present,
    "fields": _check_fields,
    "response_time": _check_response_time,
    "no_response": _check_no_response,
    "interval": _check_interval,
    "sequence": _check_sequence,
}


def _check_der(name: str) -> Callable[[dict, Sequence[TimelineEvent], Parties], Outcome]:
    """A DER kind of harness.verdict.der_judging (imported when judged: it builds on this module)."""

    def check(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
        from harness.verdict import der_judging

        return getattr(der_judging, name)(spec, events, parties)

    return check


CHECKS["der_responses"] = _check_der("check_der_responses")
CHECKS["der_power"] = _check_der("check_der_power")
CHECKS["der_poll_rate"] = _check_der("check_der_poll_rate")


def _check_der_grid_loop(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    """The grid-to-EV loop kind (harness.verdict.der_grid_loop, imported when judged)."""
    from harness.verdict import der_grid_loop

    return der_grid_loop.check_der_grid_loop(spec, events, parties)


CHECKS["der_grid_loop"] = _check_der_grid_loop


def _check_der_server(name: str) -> Callable[[dict, Sequence[TimelineEvent], Parties], Outcome]:
    """A DER server kind of harness.verdict.der_server_judging (imported when judged)."""

    def check(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
        from harness.verdict import der_server_judging

        return getattr(der_server_judging, name)(spec, events, parties)

    return check


for _kind in ("der_server_programs", "der_server_writes", "der_server_change", "der_authorization"):
    CHECKS[_kind] = _check_der_server(f"check_{_kind}")


def evaluate(spec: dict[str, Any], events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    """Judge one expectation; a malformed spec (an unknown kind or key, a value of the wrong type) is
    the harness's fault (ERROR), never the DUT's."""
    try:
        validate_spec(spec)
    except SpecError as exc:
        return Outcome(Verdict.ERROR, f"malformed expectation: {exc}")
    check = CHECKS[spec["kind"]]
    try:
        outcome = check(spec, events, parties)
    except (KeyError, TypeError, SpecError) as exc:
        return Outcome(Verdict.ERROR, f"expectation {spec.get('kind')} is malformed: {exc!r}")
    if spec.get("precondition") and outcome.verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE):
        # The tester itself did not do what the scenario needs (e.g. kept its own timing): nothing
        # can be concluded about the DUT.
        return Outcome(Verdict.INCONCLUSIVE, f"tester precondition not met: {outcome.reason}", outcome.frames)
    return outcome
