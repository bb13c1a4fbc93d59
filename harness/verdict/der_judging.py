"""The DER check kinds: a DER client's responses and its power, judged from the decrypted capture.

``der_responses``  the DERControlResponses the DUT posted, against the oracle
                   (:func:`harness.protocol.sep2.der_oracle.predict`) run over what the capture shows
                   the server published and when.
``der_power``      the DUT's signed real-power readings against what the modes in effect allow at that
                   server time (no export while opModEnergize or opModConnect is false or before the
                   site's J3072 authorization, nor while no control or default commands it; export
                   within the opModMaxLimW cap; export near the opModFixedW command once settled;
                   export within a linear ramp of rampTms; the power factor of each real-power
                   reading and the reactive-power reading beside it as opModFixedPFInjectW /
                   opModFixedPFAbsorbW command; beside a DRLC EndDeviceControl, the opModFixedW
                   command with import capped at the event's duty cycle of setMaxChargeRateW, the
                   reference EV's rule, REFERENCE-DER.md being silent [unverified]; a discharge window
                   a FlowReservationResponse granted: while no control dispatches real power, export
                   at the granted power inside the window and none outside it).
``der_poll_rate``  once the server announces a new DERProgramList pollRate, the DUT's GETs of the
                   program list are at least that far apart (server time).

Both rebuild server time from the capture's Time responses (:mod:`harness.verdict.der_timeline`) with
the spec's ``speedup``; every tolerance is in the spec, so `vgi analyze` judges the same way.  Keys (see
:mod:`harness.verdict.checks.schema`):

der_responses: ``speedup``; ``slack_s`` (server seconds added to every oracle window); ``poll_period_s``
(default: the pollRate the capture shows); ``published`` (mRIDs the tester published: each must reach
the DUT); ``require`` (mRID -> statuses, at least one of which the DUT must post); ``user_choices``
(the DUT's opt-out/opt-in answers are taken as its user's choice and fed to the oracle);
``server_revision`` (2018: unsupported modes are answered 252, 2023: 251).

der_power: ``speedup``; ``rules`` (names below); ``tolerance_w``; ``settle_s`` (server seconds a mode
must have been in effect before a reading is judged by it); ``authorization_program`` (href of the
J3072 program); ``comm_loss_polls`` (failed polls after which the DUT must fall back to the defaults);
``pf_tolerance`` (how far a measured power factor may stray from the commanded displacement).

der_poll_rate: ``speedup``; ``poll_rate_s`` (the new pollRate); ``tolerance_s`` (server seconds a gap
may fall short, the capture's jitter times the speedup); ``min_polls`` (polls to see after the change).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from capture.timeline import TimelineEvent
from harness.protocol.core import Send
from harness.protocol.sep2.der_events import (
    NO_RANDOMIZATION,
    ApplyModes,
    BoundOffsets,
    CommunicationLost,
    CommunicationRestored,
    DerEngineConfig,
    DerEventEngine,
    RandomSource,
    UserOptIn,
    UserOptOut,
)
from harness.protocol.sep2.der_model import (
    DER_CONTROL_TYPE_BYTES,
    ResponseRequired,
    ResponseStatus,
    modes_from_bitmap,
)
from harness.protocol.sep2.der_oracle import PostedResponse, predict
from harness.protocol.simclock import SimulatedClock
from harness.verdict import der_curves
from harness.verdict.der_timeline import (
    HTTP_OK,
    PAIR_WINDOW_S,
    PROGRAM_LIST,
    PROGRAM_LIST_PATH,
    DrlcWindow,
    GrantedWindow,
    PostedControlResponse,
    Published,
    ReactiveReading,
    Reading,
    ServerClock,
    control_responses,
    drlc_windows,
    failed_polls,
    granted_windows,
    hex_bitmap,
    last_put,
    partner_reading,
    power_readings,
    power_value,
    published,
    reactive_readings,
    server_clock,
)
from harness.verdict.expectations import Outcome, Parties, missing_outcome
from harness.verdict.verdicts import Verdict

# The hundredths of a percent of a full rating (opModFixedW, opModMaxLimW: IEEE 2030.5 PerCent).
FULL_SCALE = 10_000
# Modes that dispatch real power (a discharge window gives way to them).
REAL_POWER_MODES = ("opModFixedW", "opModTargetW")
# DutyCycle.normalValue is a percent of the device's normal load (sep.xsd DutyCycle).
PERCENT = 100
# How many responses or readings a reason lists before "...".
SHOWN = 4
# The user's answers (REFERENCE-DER.md section 1, response status codes 4, 5, 8, 9).
_OPT_OUT = (ResponseStatus.OPTED_OUT, ResponseStatus.PARTIAL_OPT_OUT)
_OPT_IN = (ResponseStatus.OPTED_IN, ResponseStatus.PARTIAL_OPT_IN)
_PARTIAL = (ResponseStatus.PARTIAL_OPT_OUT, ResponseStatus.PARTIAL_OPT_IN)
# 2023 answers "not supported" (251) where 2018 answers "not applicable" (252), sep.xsd Response.status.
REVISION_2023 = 2023
# Rules judged over the whole run rather than reading by reading.
_WHOLE_RUN_RULES = ("exports", "ramp", "power_factor", "drlc", "window", "volt_var", "freq_watt")
# The fixed power factor mode that applies while exporting / importing (IEEE 2030.5 DERControlBase).
PF_INJECT = "opModFixedPFInjectW"
PF_ABSORB = "opModFixedPFAbsorbW"
# A mode whose value differs between the corners of what a correct client may do.
_UNSURE = object()


def _short(mrid: str) -> str:
    """An mRID as a reason shows it: whole (the serial sits in front of the issuer's number)."""
    return mrid


def _modes_supported(events: Sequence[TimelineEvent], parties: Parties) -> frozenset[str] | None:
    found = last_put(events, "DERCapability", parties)
    if found is None or found[1].get("modesSupported") is None:
        return None
    bitmap = hex_bitmap(found[1]["modesSupported"], 2 * DER_CONTROL_TYPE_BYTES)
    return modes_from_bitmap(bitmap) if bitmap is not None else None


def _context(spec: dict, events: Sequence[TimelineEvent]) -> tuple[ServerClock, Published] | str:
    clock = server_clock(events, float(spec["speedup"]))
    if clock is None:
        return "no Time response in the capture: server time cannot be told"
    seen = published(events, clock)
    if not seen.inputs:
        return "no DER program or control from the server in the capture"
    return clock, seen


def _user_choices(posted: Sequence[PostedControlResponse], seen: Published) -> list[tuple[float, Any]]:
    """The DUT's opt-out/opt-in answers as its user's choices, for the oracle."""
    out: list[tuple[float, Any]] = []
    for response in posted:
        control = seen.controls.get(response.subject)
        if control is None or response.status not in (*_OPT_OUT, *_OPT_IN):
            continue
        partial = response.status in _PARTIAL and response.modes and response.modes < frozenset(control.modes)
        if response.status in _PARTIAL and not partial:
            continue  # takes part, limited: the schedule is unchanged (accepted below)
        modes = response.modes if partial else None
        choice = (
            UserOptOut(response.subject, modes)
            if response.status in _OPT_OUT
            else UserOptIn(response.subject, modes)
        )
        out.append((response.at, choice))
    return out


def _limited_participation(response: PostedControlResponse, seen: Published) -> bool:
    """A partial opt-out/in naming every mode (or none): the DUT takes part with limits (allowed when
    the control asks for user responses)."""
    control = seen.controls.get(response.subject)
    if control is None or response.status not in _PARTIAL:
        return False
    whole = not response.modes or response.modes >= frozenset(control.modes)
    return whole and bool(control.response_required & ResponseRequired.USER_RESPONSE)


def check_der_responses(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    context = _context(spec, events)
    if isinstance(context, str):
        return missing_outcome(spec, context)
    clock, seen = context
    posted = control_responses(events, clock, parties)
    for mrid in spec.get("published", []):
        if mrid not in seen.first_seen:
            return Outcome(
                Verdict.FAIL,
                f"control {_short(mrid)} the tester published never reached the DUT (no poll read it)",
            )
    choices = _user_choices(posted, seen) if spec.get("user_choices") else []
    revision = int(spec.get("server_revision", REVISION_2023))
    config = DerEngineConfig(modes_supported=_modes_supported(events, parties), server_revision=revision)
    poll = float(spec.get("poll_period_s", seen.poll_rate or 0))
    until = clock.at(events[-1].t) if events else seen.end
    inputs = sorted([*seen.inputs, *choices], key=lambda item: item[0])
    oracle = predict(inputs, until=until, poll_period=poll, config=config)
    slack = float(spec.get("slack_s", 0.0))
    judged = [
        PostedResponse(r.subject, r.status, r.at)
        for r in posted
        if not (spec.get("user_choices") and _limited_participation(r, seen))
    ]
    frames_of = {(r.subject, r.status, r.at): r.frame for r in posted}
    problems = []
    for finding in oracle.judge(judged, slack):
        frame = frames_of.get((finding.control, finding.status, finding.at))
        first = seen.first_seen.get(finding.control)
        where = f"frame {frame}" if frame is not None else "never posted"
        published_in = f", published in frame {first[0]}" if first else ""
        problems.append(
            (
                frame or (first[0] if first else 0),
                f"control {_short(finding.control)}{published_in}, "
                f"status {finding.status} ({where}): {finding.reason}",
            )
        )
    for mrid, wanted in spec.get("require", {}).items():
        got = {r.status for r in posted if r.subject == mrid}
        if not got & set(wanted):
            first = seen.first_seen.get(mrid)
            problems.append(
                (
                    first[0] if first else 0,
                    f"control {_short(mrid)}: none of status {sorted(wanted)} posted "
                    f"(posted: {sorted(got) or 'none'})",
                )
            )
    frames = tuple(sorted({r.frame for r in posted} | {f for f, _ in seen.first_seen.values()}))
    if problems:
        text = "; ".join(reason for _, reason in problems[:SHOWN])
        more = f" (+{len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
        return Outcome(Verdict.FAIL, text + more, tuple(sorted({f for f, _ in problems if f})) or frames)
    summary = ", ".join(
        f"{_short(m)}: {'/'.join(str(r.status) for r in posted if r.subject == m) or 'none'}"
        for m in sorted(seen.first_seen)
    )
    return Outcome(
        Verdict.PASS,
        f"{len(posted)} DERControlResponse(s) for {len(seen.first_seen)} control(s) as the schedule calls "
        f"for (poll {poll:g} s, slack {slack:g} s): {summary}",
        frames,
    )


# --- power --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModeRun:
    """One corner of what a correct client may do: the modes in effect from each server time on."""

    changes: tuple[tuple[float, Mapping[str, Any]], ...]

    def at(self, t: float) -> Mapping[str, Any]:
        current: Mapping[str, Any] = {}
        for when, modes in self.changes:
            if when > t:
                break
            current = modes
        return current


def mode_runs(
    inputs: Sequence[tuple[float, Any]], until: float, poll: float, config: DerEngineConfig
) -> list[ModeRun]:
    """The engine's modes in effect over ``inputs`` with randomization at both ends and none, each input
    learned at once and one poll later."""
    sources: list[RandomSource] = [NO_RANDOMIZATION, BoundOffsets("low"), BoundOffsets("high")]
    runs = []
    for delay in (0.0, poll) if poll > 0 else (0.0,):
        for source in sources:
            engine = DerEventEngine(config, source)
            clock = SimulatedClock(now=min((at for at, _ in inputs), default=0.0))
            changes: list[tuple[float, Mapping[str, Any]]] = []

            def perform(actions: list[Any], now: float, changes: list = changes) -> None:
                for action in actions:
                    if isinstance(action, ApplyModes):
                        changes.append((now, {m: a.value for m, a in action.modes.items()}))
                    elif isinstance(action, Send):
                        pass

            handle = clock.attach(engine, perform, name="der-modes")
            for at, event in inputs:
                clock.schedule(handle, event, at + delay)
            clock.run(until=until)
            runs.append(ModeRun(tuple(changes)))
    return runs


def steady(runs: Sequence[ModeRun], mode: str, t: float, settle: float) -> Any:
    """The value of ``mode`` every run had throughout ``[t - settle, t]`` (None: absent), else _UNSURE."""
    values = set()
    for run in runs:
        points = [t - settle] + [when for when, _ in run.changes if t - settle < when <= t]
        for point in points:
            value = run.at(point).get(mode)
            values.add(_hashable(value))
    return next(iter(values)) if len(values) == 1 else _UNSURE


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _comm_inputs(events: Sequence[TimelineEvent], clock: ServerClock, polls: int) -> list[tuple[float, Any]]:
    out: list[tuple[float, Any]] = []
    failed, lost = 0, False
    for at, bad in failed_polls(events, clock):
        if bad:
            failed += 1
            if failed >= polls and not lost:
                out.append((at, CommunicationLost()))
                lost = True
        else:
            if lost:
                out.append((at, CommunicationRestored()))
            failed, lost = 0, False
    return out


def _lost_periods(outage: Sequence[tuple[float, Any]], until: float) -> list[tuple[float, float]]:
    """(lost, restored) server times of each loss of communication (restored: ``until`` if never)."""
    periods: list[tuple[float, float]] = []
    start: float | None = None
    for at, event in outage:
        if isinstance(event, CommunicationLost):
            start = at
        elif start is not None:
            periods.append((start, at))
            start = None
    if start is not None:
        periods.append((start, until))
    return periods


def _ratings(events: Sequence[TimelineEvent], parties: Parties) -> tuple[float | None, float | None]:
    """(setMaxW, setMaxDischargeRateW) of the DUT's last DERSettings, W."""
    found = last_put(events, "DERSettings", parties)
    if found is None:
        return None, None
    data = found[1]
    return power_value(data.get("setMaxW")), power_value(data.get("setMaxDischargeRateW"))


def _authorized_at(seen: Published, program: str) -> tuple[float, int] | None:
    for at, frame, href, modes in seen.defaults:
        if href == program and modes.get("opModEnergize") is True:
            return at, frame
    return None


def check_der_power(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    context = _context(spec, events)
    if isinstance(context, str):
        return missing_outcome(spec, context)
    clock, seen = context
    readings = power_readings(events, clock, parties)
    if not readings:
        return missing_outcome(spec, "no real-power MirrorMeterReading (uom W) from the DUT in the capture")
    rules = list(spec["rules"])
    tolerance = float(spec.get("tolerance_w", 0.0))
    settle = float(spec.get("settle_s", 0.0))
    set_max_w, discharge_w = _ratings(events, parties)
    charge_w = _charge_rate(events, parties)
    inputs = [*seen.inputs]
    until = clock.at(events[-1].t)
    if spec.get("comm_loss_polls"):
        outage = _comm_inputs(events, clock, int(spec["comm_loss_polls"]))
        lost = _lost_periods(outage, until)
        during = [r for r in readings if any(start + settle <= r.at <= end for start, end in lost)]
        if not during:
            where = f"{len(lost)} loss(es) of communication" if lost else "no loss of communication"
            return missing_outcome(
                spec, f"{where} in the capture and no reading taken a settle time into one"
            )
        inputs += outage
    inputs.sort(key=lambda item: item[0])
    runs = mode_runs(inputs, until, float(seen.poll_rate or 0), DerEngineConfig(modes_supported=None))
    frames = tuple(r.frame for r in readings)
    judged = dict.fromkeys(rules, 0)
    for reading in readings:
        export = -reading.watts
        problem, applied = _judge_reading(
            reading, export, rules, runs, settle, tolerance, set_max_w, discharge_w, seen, spec, charge_w
        )
        if problem:
            return Outcome(
                Verdict.FAIL,
                f"reading in frame {reading.frame} ({reading.watts:g} W at "
                f"server time {reading.at:.0f}): {problem}",
                (reading.frame,),
            )
        for rule in applied:
            judged[rule] += 1
    unjudged = [rule for rule in rules if rule not in _WHOLE_RUN_RULES and not judged[rule]]
    if unjudged:
        return missing_outcome(
            spec,
            f"{len(readings)} reading(s), none taken while rule(s) {', '.join(unjudged)} applied "
            f"(settle {settle:g} s)",
        )
    if "exports" in rules:
        exporting = [r for r in readings if -r.watts > tolerance]
        if not exporting:
            return Outcome(
                Verdict.FAIL, f"{len(readings)} reading(s), none shows export above {tolerance:g} W", frames
            )
    if "ramp" in rules:
        ramp = _judge_ramp(readings, seen, tolerance, set_max_w, discharge_w)
        if isinstance(ramp, Outcome):
            return ramp
        judged["ramp"] = ramp
    if "power_factor" in rules:
        reactive = reactive_readings(events, clock, parties)
        pf_tolerance = float(spec.get("pf_tolerance", 0.0))
        factor = _judge_power_factor(readings, reactive, runs, settle, tolerance, pf_tolerance)
        if isinstance(factor, Outcome):
            return factor
        judged["power_factor"] = factor
    if "drlc" in rules:
        drlc = _judge_drlc(readings, drlc_windows(events), runs, settle, tolerance, charge_w, discharge_w)
        if isinstance(drlc, Outcome):
            return drlc
        judged["drlc"] = drlc
    if "window" in rules:
        window = _judge_window(readings, granted_windows(events, parties), runs, settle, tolerance)
        if isinstance(window, Outcome):
            return window
        judged["window"] = window
    for rule in ("volt_var", "freq_watt"):
        if rule in rules:
            curve = _judge_curve(rule, spec, events, clock, parties, readings, runs, settle, tolerance)
            if isinstance(curve, Outcome):
                return curve
            judged[rule] = curve
    peak = max(-r.watts for r in readings)
    return Outcome(
        Verdict.PASS,
        f"{len(readings)} reading(s) within what the modes in effect allow ("
        + ", ".join(f"{rule}: {judged[rule]}" if rule != "exports" else rule for rule in rules)
        + f"; largest export {max(peak, 0):g} W, tolerance {tolerance:g} W)",
        frames,
    )


def _judge_reading(
    reading: Reading,
    export: float,
    rules: list[str],
    runs: Sequence[ModeRun],
    settle: float,
    tolerance: float,
    set_max_w: float | None,
    discharge_w: float | None,
    seen: Published,
    spec: dict,
    charge_w: float | None = None,
) -> tuple[str, set[str]]:
    """Why the reading breaks a rule ("" if it does not) and the rules that applied to it."""
    t = reading.at
    exporting = export > tolerance
    applied: set[str] = set()
    if "authorization" in rules:
        authorized = _authorized_at(seen, spec.get("authorization_program", ""))
        applied.add("authorization")
        if exporting and (authorized is None or t < authorized[0]):
            when = (
                f"before the J3072 authorization in frame {authorized[1]}"
                if authorized
                else "while the site never authorized discharge (opModEnergize stays false)"
            )
            return f"export {export:g} W {when}", applied
    for mode, rule in (("opModEnergize", "energize"), ("opModConnect", "connect")):
        if rule in rules:
            value = steady(runs, mode, t, settle)
            if value is False:
                applied.add(rule)
                if exporting:
                    return f"export {export:g} W while {mode} in effect is false", applied
    if "commanded" in rules:
        fixed = steady(runs, "opModFixedW", t, settle)
        target = steady(runs, "opModTargetW", t, settle)
        if fixed is None and target is None:
            applied.add("commanded")
            if exporting:
                return f"export {export:g} W while no opModFixedW or opModTargetW is in effect", applied
    if "max_lim" in rules:
        value = steady(runs, "opModMaxLimW", t, settle)
        if isinstance(value, int | float) and set_max_w is not None:
            applied.add("max_lim")
            cap = set_max_w * value / FULL_SCALE
            if export > cap + tolerance:
                share = f"{value} of setMaxW {set_max_w:g} W"
                return f"export {export:g} W above the opModMaxLimW cap {cap:g} W ({share})", applied
    if "fixed" in rules:
        value = steady(runs, "opModFixedW", t, settle)
        energize = steady(runs, "opModEnergize", t, settle)
        if isinstance(value, int | float) and set_max_w is not None and energize is not False:
            applied.add("fixed")
            # A positive opModFixedW is a share of setMaxDischargeRateW (of setMaxW if none declared), a
            # negative one of setMaxChargeRateW (the import asked for; a signed export below 0).
            if value < 0:
                target = (charge_w or set_max_w) * value / FULL_SCALE
            else:
                target = (discharge_w or set_max_w) * value / FULL_SCALE
            cap = steady(runs, "opModMaxLimW", t, settle)
            if isinstance(cap, int | float):
                target = min(target, set_max_w * cap / FULL_SCALE)
            if discharge_w is not None:
                target = min(target, discharge_w)
            if charge_w is not None:
                target = max(target, -charge_w)
            if abs(export - target) > tolerance:
                wanted = f"{target:g} W (+/- {tolerance:g} W)"
                return f"export {export:g} W, the opModFixedW command {value} asks for {wanted}", applied
    return "", applied


def _judge_ramp(
    readings: Sequence[Reading],
    seen: Published,
    tolerance: float,
    set_max_w: float | None,
    discharge_w: float | None,
) -> Outcome | int:
    """Export never above a linear ramp from the earliest start of a ramped opModFixedW control (a FAIL
    naming the reading, or how many readings the ramps judged)."""
    ramped = [c for c in seen.controls.values() if c.ramp_tms and "opModFixedW" in c.modes]
    if not ramped or set_max_w is None:
        return Outcome(Verdict.FAIL, "no ramped opModFixedW control or no DERSettings setMaxW in the capture")
    checked = 0
    for control in ramped:
        ramp_s = control.ramp_tms / 100
        start = control.start + min(0, control.randomize_start)
        value = control.modes.get("opModFixedW")
        if not isinstance(value, int | float):
            continue
        target = (discharge_w or set_max_w) * value / FULL_SCALE
        for reading in readings:
            if start <= reading.at < start + ramp_s:
                checked += 1
                bound = target * (reading.at - start) / ramp_s
                if -reading.watts > bound + tolerance:
                    return Outcome(
                        Verdict.FAIL,
                        f"reading in frame {reading.frame}: export {-reading.watts:g} W "
                        f"{reading.at - start:.0f} s into a {ramp_s:g} s ramp, above its {bound:.0f} W",
                        (reading.frame,),
                    )
    if not checked:
        return Outcome(Verdict.FAIL, "no reading during a ramp: the ramp cannot be judged")
    return checked


def _commanded_pf(value: Any) -> tuple[float, bool] | None:
    """(cos phi, absorbing) of a PowerFactorWithExcitation mode value (sorted field pairs), else None."""
    if not isinstance(value, tuple):
        return None
    fields = dict(value)
    if not isinstance(fields.get("displacement"), int):
        return None
    return fields["displacement"] * 10.0 ** _multiplier_of(fields), fields.get("excitation") is True


def _multiplier_of(fields: Mapping[str, Any]) -> int:
    multiplier = fields.get("multiplier", 0)
    return multiplier if isinstance(multiplier, int) else 0


def _judge_power_factor(
    readings: Sequence[Reading],
    reactive: Sequence[ReactiveReading],
    runs: Sequence[ModeRun],
    settle: float,
    tolerance_w: float,
    pf_tolerance: float,
) -> Outcome | int:
    """Each settled real-power reading under a fixed power factor mode, with the reactive-power reading
    of its period: the power factor |P| / sqrt(P^2 + Q^2) within ``pf_tolerance`` of the commanded
    displacement, the reactive power on the commanded side (absorbing: positive var in the meter
    convention, injecting: negative).  A FAIL naming both frames, or how many readings were judged."""
    if not reactive:
        return Outcome(Verdict.FAIL, "no reactive-power MirrorMeterReading (uom var) from the DUT")
    checked = 0
    for reading in readings:
        export = -reading.watts
        if abs(export) <= tolerance_w:
            continue
        mode = PF_INJECT if export > 0 else PF_ABSORB
        commanded = _commanded_pf(steady(runs, mode, reading.at, settle))
        if commanded is None:
            continue
        partner = partner_reading(reading, reactive)
        if partner is None:
            of_period = (
                f"for its period {reading.period}"
                if reading.period is not None
                else f"within {PAIR_WINDOW_S:g} s of it"
            )
            return Outcome(
                Verdict.FAIL,
                f"reading in frame {reading.frame} ({reading.watts:g} W) under {mode}: no reactive-power "
                f"reading {of_period}",
                (reading.frame,),
            )
        checked += 1
        wanted, absorbing = commanded
        measured = abs(reading.watts) / math.hypot(reading.watts, partner.var)
        side_wrong = wanted < 1.0 - pf_tolerance and (partner.var > 0) != absorbing
        if abs(measured - wanted) > pf_tolerance or side_wrong:
            side = "absorbing (+var)" if absorbing else "injecting (-var)"
            return Outcome(
                Verdict.FAIL,
                f"readings in frames {reading.frame}/{partner.frame} ({reading.watts:g} W, "
                f"{partner.var:g} var at server time {reading.at:.0f}): power factor {measured:.3f}, "
                f"{mode} commands {wanted:.3f} (+/- {pf_tolerance:g}) {side}",
                (reading.frame, partner.frame),
            )
    if not checked:
        return Outcome(Verdict.FAIL, "no settled reading while a fixed power factor mode applied")
    return checked


def _judge_curve(
    rule: str,
    spec: dict,
    events: Sequence[TimelineEvent],
    clock: ServerClock,
    parties: Parties,
    readings: Sequence[Reading],
    runs: Sequence[ModeRun],
    settle: float,
    tolerance_w: float,
) -> Outcome | int:
    """Rules volt_var / freq_watt (:mod:`harness.verdict.der_curves`)."""
    judgement = der_curves.CurveJudgement(
        der_curves.served_curves(events),
        der_curves.settings_of(events, parties),
        lambda mode, t: steady(runs, mode, t, settle),
    )
    points = int(spec.get("min_grid_points", 1))
    if rule == "volt_var":
        voltage = der_curves.grid_readings(events, clock, parties, der_curves.UOM_VOLTAGE)
        reactive = reactive_readings(events, clock, parties)
        if not reactive:
            return Outcome(Verdict.FAIL, "no reactive-power MirrorMeterReading (uom var) from the DUT")
        return der_curves.judge_volt_var(
            reactive, voltage, judgement, float(spec.get("var_tolerance", 0.0)), points
        )
    frequency = der_curves.grid_readings(events, clock, parties, der_curves.UOM_FREQUENCY)
    return der_curves.judge_freq_watt(readings, frequency, judgement, tolerance_w, points)


def _charge_rate(events: Sequence[TimelineEvent], parties: Parties) -> float | None:
    """setMaxChargeRateW of the DUT's last DERSettings, W."""
    found = last_put(events, "DERSettings", parties)
    return power_value(found[1].get("setMaxChargeRateW")) if found is not None else None


def _judge_drlc(
    readings: Sequence[Reading],
    windows: Sequence[DrlcWindow],
    runs: Sequence[ModeRun],
    settle: float,
    tolerance: float,
    charge_w: float | None,
    discharge_w: float | None,
) -> Outcome | int:
    """DRLC beside DER: each settled reading under a steady opModFixedW is within ``tolerance`` of the
    command, an import capped at the duty cycle of setMaxChargeRateW of the DRLC events it lies wholly
    inside (readings straddling an event's edge, or near a cancelled one, are not judged).  A FAIL naming
    the reading and the event's frame, or how many readings inside an event were judged."""
    events = [w for w in windows if w.duty_cycle_percent is not None]
    if not events or charge_w is None or discharge_w is None:
        return Outcome(
            Verdict.FAIL,
            "no DRLC EndDeviceControl with a DutyCycle, or no DERSettings charge/discharge rates",
        )
    inside_judged = 0
    for reading in readings:
        t, begin = reading.at, reading.at - settle
        if any(w.cancelled and w.start < t and begin < w.end for w in windows):
            continue
        inside = [w for w in events if w.start <= begin and t <= w.end]
        touching = [w for w in events if w.start < t and begin < w.end]
        if len(inside) != len(touching):
            continue  # an event starts or ends within the settle window
        fixed = steady(runs, "opModFixedW", t, settle)
        if not isinstance(fixed, int | float) or isinstance(fixed, bool):
            continue
        commanded = fixed * (discharge_w if fixed >= 0 else charge_w) / FULL_SCALE  # + export, - import
        expected = commanded
        cap = min((charge_w * (w.duty_cycle_percent or 0) / PERCENT for w in inside), default=None)
        if cap is not None and commanded < 0:
            expected = -min(-commanded, cap)
        export = -reading.watts
        if abs(export - expected) > tolerance:
            where = (
                f"inside the DRLC event of frame {inside[0].frame} (duty cycle "
                f"{inside[0].duty_cycle_percent} %, import cap {cap:g} W)"
                if inside
                else "outside any DRLC event"
            )
            return Outcome(
                Verdict.FAIL,
                f"reading in frame {reading.frame} ({reading.watts:g} W at server time {t:.0f}) {where}: "
                f"opModFixedW {fixed} asks for {-expected:g} W import/-export (+/- {tolerance:g} W)",
                (reading.frame, *(w.frame for w in inside)),
            )
        inside_judged += bool(inside)
    if not inside_judged:
        return Outcome(Verdict.FAIL, "no settled reading inside a DRLC event under a steady opModFixedW")
    return inside_judged


def _judge_window(
    readings: Sequence[Reading],
    windows: Sequence[GrantedWindow],
    runs: Sequence[ModeRun],
    settle: float,
    tolerance: float,
) -> Outcome | int:
    """A granted discharge window: while no opModFixedW / opModTargetW is in effect, a reading whose
    period lies before the window or a settle time after it shows no export, one settled inside it
    the granted power (both within ``tolerance``); readings at the window's edges are not judged.  A
    FAIL naming the reading and the grant's frame, or how many readings inside a window were judged."""
    if not windows:
        return Outcome(Verdict.FAIL, "no FlowReservationResponse granting a discharge the DUT asked for")
    inside_judged = 0
    for reading in readings:
        t = reading.at
        if any(steady(runs, mode, t, settle) is not None for mode in REAL_POWER_MODES):
            continue  # a control dispatches: the window gives way
        export = -reading.watts
        for window in windows:
            if window.start + settle <= t <= window.end:
                wanted, where = window.power_w, "settled inside"
                inside_judged += 1
            elif t <= window.start or t - settle >= window.end:
                wanted, where = 0.0, "outside"
            else:
                continue
            if abs(export - wanted) > tolerance:
                return Outcome(
                    Verdict.FAIL,
                    f"reading in frame {reading.frame} ({reading.watts:g} W at server time {t:.0f}) {where} "
                    f"the discharge window {window.start}-{window.end} granted in frame {window.frame}: "
                    f"export {export:g} W, the window asks for {wanted:g} W (+/- {tolerance:g} W)",
                    (reading.frame, window.request_frame, window.frame),
                )
    if not inside_judged:
        return Outcome(Verdict.FAIL, "no settled reading inside a granted discharge window")
    return inside_judged


# --- poll rate ------------------------------------------------------------------------------------------


def check_der_poll_rate(spec: dict, events: Sequence[TimelineEvent], parties: Parties) -> Outcome:
    clock = server_clock(events, float(spec["speedup"]))
    if clock is None:
        return missing_outcome(spec, "no Time response in the capture: server time cannot be told")
    rate = int(spec["poll_rate_s"])
    announced = next(
        (
            e
            for e in events
            if e.fields.get("status") == HTTP_OK
            and e.fields.get("root") == PROGRAM_LIST
            and _resource_of(e).get("pollRate") == rate
        ),
        None,
    )
    if announced is None:
        return missing_outcome(spec, f"no DERProgramList with pollRate {rate} in the capture")
    polls = [
        e
        for e in events
        if e.frame > announced.frame
        and e.fields.get("method") == "GET"
        and e.fields.get("path") == PROGRAM_LIST_PATH
        and parties.matches("dut", e.src, e.sport)
    ]
    wanted = int(spec.get("min_polls", 2))
    if len(polls) < wanted:
        return Outcome(
            Verdict.FAIL,
            f"{len(polls)} GET {PROGRAM_LIST_PATH} after the pollRate {rate} s of frame {announced.frame}, "
            f"expected at least {wanted}",
            (announced.frame, *(e.frame for e in polls)),
        )
    low = rate - float(spec.get("tolerance_s", 0.0))
    gaps = [(clock.at(b.t) - clock.at(a.t), a, b) for a, b in zip(polls, polls[1:], strict=False)]
    for gap, a, b in gaps:
        if gap < low:
            return Outcome(
                Verdict.FAIL,
                f"frames {a.frame} -> {b.frame}: polls {gap:.0f} s apart (server time) after frame "
                f"{announced.frame} announced pollRate {rate} s",
                (announced.frame, a.frame, b.frame),
            )
    shortest = min(g for g, _, _ in gaps) if gaps else 0.0
    return Outcome(
        Verdict.PASS,
        f"{len(polls)} polls after the pollRate {rate} s of frame {announced.frame}, "
        f"shortest gap {shortest:.0f} s",
        (announced.frame, *(e.frame for e in polls)),
    )


def _resource_of(event: TimelineEvent) -> dict[str, Any]:
    resource = event.fields.get("resource")
    return resource if isinstance(resource, dict) else {}
