"""The grid-to-EV loop check kind: a DC charger (DCPC) turns the PFE's DER control into SAE J2847/2 V2G
discharge on the EV link, judged from the one capture that holds both links.

``der_grid_loop`` rebuilds server time from the capture's IEEE 2030.5 Time responses
(:mod:`harness.verdict.der_timeline`, with the spec's ``speedup``), finds the control ``control`` as the
server published it (its effective start and end, its opModFixedW or opModTargetW) and the DUT's
CurrentDemandRes on the ISO 15118-2 link, and judges one of two things (``judge``):

``demand``   No CurrentDemandRes asks for discharge (negative EVSEMaximumPowerLimit) before the
             control's effective start; from the latency bound after the start to the control's end every
             CurrentDemandRes asks for the commanded export, EVSEMaximumPowerLimit within ``tolerance_w``
             of minus the commanded power (opModFixedW: a share of the setMaxDischargeRateW the DUT
             PUT, of setMaxW without one; opModTargetW: watts), and its EVSEMaximumCurrentLimit negative
             and within the EV's discharge current limit (the magnitude of the EVMaximumCurrentLimit of
             the EV's CurrentDemandReq just before); once the control has ended, a latency bound later,
             no CurrentDemandRes asks for discharge any more.
``latency``  The first CurrentDemandRes at or after the control's effective start that asks for discharge
             comes within the latency bound of it.

Server time from the capture is known to ``TIME_RESOLUTION_S`` (Time.currentTime is whole seconds) plus the
capture's timestamp jitter (``jitter_s``, wall seconds, PIXIT capture_jitter_s) times the speedup: a
CurrentDemandRes that close to the control's start or end may fall either side of it.

The latency bound is ``max_latency_s`` (server seconds, PIXIT ``der_grid_loop_latency_s``) when given,
else one DERProgramList pollRate (the DCPC learns of the control at its next poll) plus ``cycles``
CurrentDemand cycles (the EV's next request after that, the response, the capture's jitter), a cycle
being the median gap between the DUT's CurrentDemandRes before the start, times the speedup.
Keys: ``speedup``, ``control`` (the mRID), ``judge``, ``tolerance_w``, ``max_latency_s``, ``cycles``,
``jitter_s``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from capture.timeline import TimelineEvent
from harness.protocol.din70121.messages import to_float
from harness.verdict.der_timeline import last_put, power_value, published, server_clock
from harness.verdict.expectations import Outcome, Parties, missing_outcome
from harness.verdict.verdicts import Verdict

# Timeline label of ISO 15118-2 messages (harness.verdict.checks.iso15118_2.ISO2).
ISO2 = "ISO-2"
DEMAND_RES = "CurrentDemandRes"
DEMAND_REQ = "CurrentDemandReq"
# IEEE 2030.5 PerCent: opModFixedW in hundredths of a percent.
FULL_SCALE = 10_000
# sep.xsd TimeType: whole seconds, so the Time responses give server time to a second.
TIME_RESOLUTION_S = 1.0
# CurrentDemand cycles on top of a poll period in the default latency bound.
DEFAULT_CYCLES = 3
# How many frames a reason lists.
SHOWN = 5


@dataclass(frozen=True, slots=True)
class Demand:
    """One CurrentDemandRes of the DUT: frame, server time, EVSEMaximumPowerLimit (W) and
    EVSEMaximumCurrentLimit (A); and the EV's discharge current limit of the request before (A, a
    magnitude; None if that request asked for no discharge)."""

    frame: int
    t: float
    at: float
    power_w: float
    current_a: float
    ev_discharge_limit_a: float | None

    @property
    def discharge(self) -> bool:
        return self.power_w < 0


def _body(event: TimelineEvent, name: str) -> dict[str, Any]:
    message = event.fields.get("V2G_Message")
    body = message.get("Body", {}) if isinstance(message, dict) else {}
    content = body.get(name) if isinstance(body, dict) else None
    return content if isinstance(content, dict) else {}


def _value(content: dict[str, Any], name: str) -> float | None:
    raw = content.get(name)
    if not isinstance(raw, dict):
        return None
    try:
        return to_float(raw)
    except (KeyError, TypeError, ValueError):
        return None


def demands(events: Sequence[TimelineEvent], clock: Any, parties: Parties) -> list[Demand]:
    """The DUT's CurrentDemandRes on the ISO 15118-2 link, in frame order."""
    out: list[Demand] = []
    ev_limit: float | None = None
    for event in events:
        if event.protocol != ISO2 or event.error:
            continue
        if event.message == DEMAND_REQ and parties.matches("tester", event.src, event.sport):
            limit = _value(_body(event, DEMAND_REQ), "EVMaximumCurrentLimit")
            ev_limit = -limit if limit is not None and limit < 0 else None
        elif event.message == DEMAND_RES and parties.matches("dut", event.src, event.sport):
            content = _body(event, DEMAND_RES)
            power, current = (
                _value(content, "EVSEMaximumPowerLimit"),
                _value(content, "EVSEMaximumCurrentLimit"),
            )
            if power is None or current is None:
                continue
            out.append(Demand(event.frame, event.t, clock.at(event.t), power, current, ev_limit))
    return out


def _commanded_w(modes: Any, events: Sequence[TimelineEvent], parties: Parties) -> tuple[float, str] | None:
    """The export (W) the control commands and how it was worked out; None if it commands none."""
    fixed = modes.get("opModFixedW")
    if isinstance(fixed, int | float) and not isinstance(fixed, bool):
        found = last_put(events, "DERSettings", parties)
        data = found[1] if found else {}
        rating = power_value(data.get("setMaxDischargeRateW")) or power_value(data.get("setMaxW"))
        if rating is None:
            return None
        return rating * fixed / FULL_SCALE, f"opModFixedW {fixed} of the {rating:g} W the DUT set"
    target = modes.get("opModTargetW")
    if isinstance(target, int | float) and not isinstance(target, bool):
        return float(target), f"opModTargetW {target:g} W"
    return None


def _frames(items: Sequence[Demand]) -> tuple[int, ...]:
    return tuple(d.frame for d in items)


def _listed(items: Sequence[Demand]) -> str:
    shown = ", ".join(f"frame {d.frame} ({d.power_w:g} W)" for d in items[:SHOWN])
    return shown + (" ..." if len(items) > SHOWN else "")


def check_der_grid_loop(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    speedup = float(spec["speedup"])
    clock = server_clock(events, speedup)
    if clock is None:
        return missing_outcome(
            spec, "no IEEE 2030.5 Time response in the capture: server time cannot be told"
        )
    seen = published(events, clock)
    control = seen.controls.get(spec["control"])
    if control is None:
        return missing_outcome(spec, f"control {spec['control']} was never published in the capture")
    start, end = float(control.start), float(control.start + control.duration)
    loop = demands(events, clock, parties)
    before = [d for d in loop if d.at < start]
    if not before:
        return missing_outcome(
            spec, f"no CurrentDemandRes before the control's effective start (server time {start:.0f})"
        )
    bound, how = _bound(spec, before, seen.poll_rate, speedup)
    slack = TIME_RESOLUTION_S + float(spec.get("jitter_s", 0.0)) * speedup
    if spec["judge"] == "latency":
        return _latency(loop, start, bound, how, speedup, slack)
    commanded = _commanded_w(control.modes, events, parties)
    if commanded is None:
        return missing_outcome(spec, "the control commands no export (opModFixedW or opModTargetW)")
    tolerance = float(spec.get("tolerance_w", 0.0))
    return _demand(loop, (start, end), bound, commanded, tolerance, slack, spec)


def _bound(spec: dict, before: Sequence[Demand], poll_rate: int | None, speedup: float) -> tuple[float, str]:
    if spec.get("max_latency_s") is not None:
        return float(spec["max_latency_s"]), "PIXIT der_grid_loop_latency_s"
    gaps = [b.t - a.t for a, b in zip(before, before[1:], strict=False)]
    cycle = statistics.median(gaps) * speedup if gaps else 0.0
    cycles = int(spec.get("cycles", DEFAULT_CYCLES))
    poll = float(poll_rate or 0)
    return poll + cycles * cycle, f"pollRate {poll:g} s + {cycles} CurrentDemand cycles of {cycle:.1f} s"


def _latency(
    loop: Sequence[Demand], start: float, bound: float, how: str, speedup: float, slack: float
) -> Outcome:
    # A response within the clock's slack of the start may be after it: it counts, at latency 0 or more.
    after = [d for d in loop if start - slack <= d.at]
    if not after:
        return Outcome(Verdict.INCONCLUSIVE, "the EV's session ended before the control's effective start")
    first = next((d for d in after if d.discharge), None)
    if first is None or first.at - start > bound:
        late = [d for d in after if d.at - start <= bound]
        what = (
            "no CurrentDemandRes asks for discharge"
            if first is None
            else f"the first asking for it (frame {first.frame}) comes {first.at - start:.0f} s after it"
        )
        return Outcome(
            Verdict.FAIL,
            f"control effective at server time {start:.0f}: {what}; within the bound {bound:.0f} s "
            f"({how}) the DUT answered {_listed(late) or 'nothing'}",
            _frames(late) or ((first.frame,) if first else ()),
        )
    latency = max(0.0, first.at - start)
    return Outcome(
        Verdict.PASS,
        f"first CurrentDemandRes asking for discharge (frame {first.frame}, {first.power_w:g} W) "
        f"{latency:.0f} s after the control's effective start ({latency / speedup:.2f} s of wall time), "
        f"bound {bound:.0f} s ({how})",
        (first.frame,),
    )


def _demand(
    loop: Sequence[Demand],
    window: tuple[float, float],
    bound: float,
    commanded: tuple[float, str],
    tolerance: float,
    slack: float,
    spec: dict,
) -> Outcome:
    (start, end), (watts, how) = window, commanded
    early = [d for d in loop if d.at < start - slack and d.discharge]
    if early:
        return Outcome(
            Verdict.FAIL,
            f"discharge asked before the control's effective start (server time {start:.0f}): "
            f"{_listed(early)}",
            _frames(early),
        )
    during = [d for d in loop if start + bound <= d.at <= end]
    if not during:
        return missing_outcome(
            spec,
            f"no CurrentDemandRes between {start + bound:.0f} and {end:.0f} (the control's start plus the "
            "latency bound, and its end): the session did not run through the control",
        )
    wrong = [d for d in during if not d.discharge or abs(-d.power_w - watts) > tolerance]
    if wrong:
        return Outcome(
            Verdict.FAIL,
            f"while the control is in effect, CurrentDemandRes should ask for {watts:g} W of discharge "
            f"(EVSEMaximumPowerLimit {-watts:g} W +/- {tolerance:g} W; {how}); {len(wrong)} of {len(during)} "
            f"do not: {_listed(wrong)}",
            _frames(wrong),
        )
    beyond = [
        d
        for d in during
        if d.current_a >= 0 or (d.ev_discharge_limit_a is not None and -d.current_a > d.ev_discharge_limit_a)
    ]
    if beyond:
        return Outcome(
            Verdict.FAIL,
            "EVSEMaximumCurrentLimit not a discharge within the EV's limit (its EVMaximumCurrentLimit) in "
            + ", ".join(f"frame {d.frame} ({d.current_a:g} A)" for d in beyond[:SHOWN]),
            _frames(beyond),
        )
    lingering = [d for d in loop if d.at > end + bound + slack and d.discharge]
    if lingering:
        return Outcome(
            Verdict.FAIL,
            f"discharge still asked after the control ended (server time {end:.0f}, bound {bound:.0f} s): "
            f"{_listed(lingering)}",
            _frames(lingering),
        )
    powers = [-d.power_w for d in during]
    return Outcome(
        Verdict.PASS,
        f"{len(during)} CurrentDemandRes while the control is in effect ask for "
        f"{min(powers):g}-{max(powers):g} W of discharge ({how}: {watts:g} W +/- {tolerance:g} W) "
        "within the EV's current limit; none before its start or after its end",
        _frames(during[:1] + during[-1:]),
    )
