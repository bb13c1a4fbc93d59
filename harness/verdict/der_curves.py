"""Volt-var and freq-watt, judged from the capture: what the DUT reports against the curve it was sent.

The DERCurves come from the server's answers in the capture (``DERCurve`` bodies, keyed by their href,
points scaled by xMultiplier / yMultiplier); the DUT's settings (setVRef, setMaxVar, setMaxVarNeg,
setMaxW, setMaxDischargeRateW) from its last DERSettings PUT; the grid point from the DUT's own
MirrorMeterReadings of voltage (uom 29) and frequency (uom 33), so the verdict rests on what the EV
says it measured at its terminals, not on what the lab meant to set.

Curve semantics (IEEE 2030.5 DERCurve; REFERENCE-DER.md section 1: curveType 11 volt-var, 0 freq-watt):

* volt-var: x is the voltage in percent of setVRef, y the reactive power in percent of setMaxVar
  (yRefType 2), positive y injects; reactive power is linear between points and held flat beyond the
  end points, within setMaxVar injecting and setMaxVarNeg absorbing.  Meter convention (README AC DER
  "Readings"): injected var reads negative.
* freq-watt: x in Hz, y in percent of setMaxW (yRefType 1): the export may not exceed y(f) of setMaxW
  (the reference EV's reading of the curve, harness/devices/models/inverter.py); the export expected is
  the opModFixedW dispatch capped by it.

A reading is judged when the mode has been in effect the settle time (as every der_power rule) and the
grid it reports held over two consecutive periods (a DUT may average over a period in which the grid
moved).  Rules ``volt_var`` and ``freq_watt`` of the ``der_power`` check kind
(:mod:`harness.verdict.der_judging`); ``var_tolerance`` (var) and ``min_grid_points`` (distinct steady
grid values the judged readings must span, so the change mid-scenario is exercised) are spec keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from capture.timeline import TimelineEvent
from harness.verdict.der_timeline import (
    HTTP,
    HTTP_OK,
    Period,
    ServerClock,
    items,
    last_put,
    meter_readings,
    partner_reading,
    power_value,
    request_path,
)
from harness.verdict.expectations import Outcome, Parties
from harness.verdict.verdicts import Verdict

# IEEE 2030.5 DERCurveType (REFERENCE-DER.md section 1).
CURVE_FREQ_WATT = 0
CURVE_VOLT_VAR = 11
CURVE = "DERCurve"
CURVE_LIST = "DERCurveList"
# sep.xsd UomType 29 Voltage, 33 Hz (the DUT's grid readings, README AC DER "Readings").
UOM_VOLTAGE = 29
UOM_FREQUENCY = 33
# The hundredths of a percent of a full rating (opModFixedW).
FULL_SCALE = 10_000
PERCENT = 100
# Two grid readings are the same grid point when they differ by less than this (their resolution:
# 0.1 V, 0.01 Hz).
SAME_VOLTAGE_V = 0.05
SAME_FREQUENCY_HZ = 0.005


@dataclass(frozen=True, slots=True)
class ServedCurve:
    """A DERCurve as the server sent it: type and (x, y) points with the multipliers applied."""

    curve_type: int
    points: tuple[tuple[float, float], ...]
    frame: int

    def at(self, x: float) -> float:
        """y at ``x``: linear between points, flat beyond the ends."""
        points = self.points
        if x <= points[0][0]:
            return points[0][1]
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            if x <= x1:
                return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        return points[-1][1]


@dataclass(frozen=True, slots=True)
class GridReading:
    """A grid voltage (V) or frequency (Hz) the DUT reported, at a server time, with its stated
    timePeriod (None when it has none)."""

    frame: int
    at: float
    value: float
    period: Period | None = None


def curve_answers(
    events: Sequence[TimelineEvent], served_by: Callable[[TimelineEvent], bool] | None = None
) -> Iterator[tuple[TimelineEvent, str, dict[str, Any]]]:
    """(answer, href, body) of each DERCurve the capture shows served (200 answers, in capture order; only
    those ``served_by`` accepts, when given): the href is the body's, else the path the request asked.  A
    DERCurveList answer serves each DERCurve it holds (a client may read the curves from the list alone)."""
    for index, event in enumerate(events):
        if event.protocol != HTTP or event.error or event.fields.get("status") != HTTP_OK:
            continue
        root = event.fields.get("root")
        if root not in (CURVE, CURVE_LIST) or (served_by is not None and not served_by(event)):
            continue
        data = event.fields.get("resource")
        data = data if isinstance(data, dict) else {}
        if root == CURVE_LIST:
            for curve in items(data.get(CURVE)):
                if isinstance(curve, dict) and curve.get("href"):
                    yield event, curve["href"], curve
            continue
        yield event, data.get("href") or request_path(events, index) or "", data


def served_curves(events: Sequence[TimelineEvent]) -> dict[str, ServedCurve]:
    """href -> the last DERCurve the server sent under it with a curveType and points."""
    out: dict[str, ServedCurve] = {}
    for event, href, data in curve_answers(events):
        kind = data.get("curveType")
        if not href or not isinstance(href, str) or not isinstance(kind, int):
            continue
        x_scale = 10.0 ** _int(data.get("xMultiplier"))
        y_scale = 10.0 ** _int(data.get("yMultiplier"))
        points = sorted(
            (point["xvalue"] * x_scale, point["yvalue"] * y_scale)
            for point in items(data.get("CurveData"))
            if isinstance(point, dict)
            and isinstance(point.get("xvalue"), int)
            and isinstance(point.get("yvalue"), int)
        )
        if points:
            out[href] = ServedCurve(kind, tuple(points), event.frame)
    return out


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def grid_readings(
    events: Sequence[TimelineEvent], clock: ServerClock, parties: Parties, uom: int
) -> list[GridReading]:
    """The DUT's MirrorMeterReadings of grid voltage (uom 29) or frequency (uom 33)."""
    return [GridReading(*found) for found in meter_readings(events, clock, parties, uom)]


def settings_of(events: Sequence[TimelineEvent], parties: Parties) -> Mapping[str, float | None]:
    """The DUT's last DERSettings values the curves scale by (V, var, W; None when absent)."""
    found = last_put(events, "DERSettings", parties)
    data = found[1] if found is not None else {}
    names = ("setVRef", "setMaxVar", "setMaxVarNeg", "setMaxW", "setMaxDischargeRateW")
    return {name: power_value(data.get(name)) for name in names}


def _grid_at(grid: Sequence[GridReading], reading: Any, same: float) -> GridReading | None:
    """The grid reading of ``reading``'s period (:func:`partner_reading`), if the one before it reported
    the same point."""
    found = partner_reading(reading, grid)
    if found is None:
        return None
    index = grid.index(found)
    if index == 0 or abs(grid[index - 1].value - found.value) >= same:
        return None
    return found


@dataclass(frozen=True, slots=True)
class CurveJudgement:
    """Inputs shared by both rules."""

    curves: Mapping[str, ServedCurve]
    settings: Mapping[str, float | None]
    mode_at: Callable[[str, float], Any]  # (mode, server time) -> steady value, or a sentinel


def judge_volt_var(
    reactive: Sequence[Any],
    voltage: Sequence[GridReading],
    judgement: CurveJudgement,
    tolerance_var: float,
    min_points: int,
) -> Outcome | int:
    """Each settled reactive-power reading under opModVoltVar against the curve at the voltage reported
    with it.  A FAIL naming the frames, or how many readings were judged."""
    s = judgement.settings
    v_ref, max_var = s.get("setVRef"), s.get("setMaxVar")
    if not v_ref or not max_var:
        return Outcome(Verdict.FAIL, "volt-var: the DUT's DERSettings lack setVRef or setMaxVar")
    max_var_neg = s.get("setMaxVarNeg") or max_var
    if not voltage:
        return Outcome(Verdict.FAIL, "volt-var: no grid voltage MirrorMeterReading (uom 29) from the DUT")
    checked, levels = 0, set()
    for reading in reactive:
        href = judgement.mode_at("opModVoltVar", reading.at)
        if not isinstance(href, str):
            continue
        curve = judgement.curves.get(href)
        if curve is None or curve.curve_type != CURVE_VOLT_VAR:
            return Outcome(Verdict.FAIL, f"volt-var: no volt-var DERCurve served at {href}", (reading.frame,))
        grid = _grid_at(voltage, reading, SAME_VOLTAGE_V)
        if grid is None:
            continue
        wanted = curve.at(PERCENT * grid.value / v_ref) * max_var / PERCENT
        wanted = max(-max_var_neg, min(max_var, wanted))
        injected = -reading.var
        checked += 1
        levels.add(round(grid.value, 1))
        if abs(injected - wanted) > tolerance_var:
            return Outcome(
                Verdict.FAIL,
                f"readings in frames {reading.frame}/{grid.frame} ({reading.var:g} var at {grid.value:g} V, "
                f"server time {reading.at:.0f}): injects {injected:g} var, the volt-var curve {href} asks "
                f"{wanted:.0f} var injected (negative: absorbed) at "
                f"{PERCENT * grid.value / v_ref:.1f} % of setVRef (+/- {tolerance_var:g})",
                (reading.frame, grid.frame, curve.frame),
            )
    return _enough("volt-var", checked, levels, min_points, "V")


def judge_freq_watt(
    readings: Sequence[Any],
    frequency: Sequence[GridReading],
    judgement: CurveJudgement,
    tolerance_w: float,
    min_points: int,
) -> Outcome | int:
    """Each settled real-power reading under opModFreqWatt and a discharging opModFixedW: the export at
    the opModFixedW dispatch capped at y(f) of setMaxW, at the frequency reported with it."""
    s = judgement.settings
    max_w, discharge_w = s.get("setMaxW"), s.get("setMaxDischargeRateW") or s.get("setMaxW")
    if not max_w or not discharge_w:
        return Outcome(Verdict.FAIL, "freq-watt: the DUT's DERSettings lack setMaxW")
    if not frequency:
        return Outcome(Verdict.FAIL, "freq-watt: no grid frequency MirrorMeterReading (uom 33) from the DUT")
    checked, levels = 0, set()
    for reading in readings:
        href = judgement.mode_at("opModFreqWatt", reading.at)
        fixed = judgement.mode_at("opModFixedW", reading.at)
        if not isinstance(href, str) or not isinstance(fixed, int) or fixed <= 0:
            continue
        curve = judgement.curves.get(href)
        if curve is None or curve.curve_type != CURVE_FREQ_WATT:
            return Outcome(
                Verdict.FAIL, f"freq-watt: no freq-watt DERCurve served at {href}", (reading.frame,)
            )
        grid = _grid_at(frequency, reading, SAME_FREQUENCY_HZ)
        if grid is None:
            continue
        cap = curve.at(grid.value) * max_w / PERCENT
        wanted = max(0.0, min(fixed * discharge_w / FULL_SCALE, cap))
        export = -reading.watts
        checked += 1
        levels.add(round(grid.value, 2))
        if abs(export - wanted) > tolerance_w:
            return Outcome(
                Verdict.FAIL,
                f"readings in frames {reading.frame}/{grid.frame} ({reading.watts:g} W at {grid.value:g} Hz, "
                f"server time {reading.at:.0f}): exports {export:g} W, opModFixedW {fixed} capped by the "
                f"freq-watt curve {href} ({curve.at(grid.value):g} % of setMaxW) gives {wanted:.0f} W "
                f"(+/- {tolerance_w:g})",
                (reading.frame, grid.frame, curve.frame),
            )
    return _enough("freq-watt", checked, levels, min_points, "Hz")


def _enough(what: str, checked: int, levels: set[float], min_points: int, unit: str) -> Outcome | int:
    if not checked:
        return Outcome(Verdict.FAIL, f"{what}: no settled reading at a steady grid while the curve applied")
    if len(levels) < min_points:
        shown = ", ".join(f"{level:g} {unit}" for level in sorted(levels))
        # The DUT reports what it measured: a grid that never moved is the lab's doing, undecided.
        return Outcome(
            Verdict.INCONCLUSIVE,
            f"{what}: {checked} reading(s) judged, all at {shown}: the grid change was never seen "
            f"(at least {min_points} grid points needed)",
        )
    return checked
