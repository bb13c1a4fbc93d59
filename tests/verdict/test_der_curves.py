"""Volt-var and freq-watt rules of the der_power check, on small hand-made timelines."""

from __future__ import annotations

from typing import Any

from harness.verdict.der_curves import ServedCurve, curve_answers, served_curves
from harness.verdict.verdicts import Verdict
from tests.verdict.der_timelines import S0, ClientTimeline, control
from tests.verdict.test_der_judging import MRID_A, judge

V_MRID, HZ_MRID, VAR_MRID = "E" * 32, "F" * 32, "9" * 32
CURVE = "/derp/2/dc/1"
# IEEE 1547-style volt-var points: x % of setVRef, y % of setMaxVar (3600 var).
VOLT_VAR = [(92, 44), (98, 0), (102, 0), (108, -44)]
# Freq-watt in centihertz (xMultiplier -2), y % of setMaxW (7200 W).
FREQ_WATT = [(5900, 100), (6010, 100), (6060, 0)]


class CurveTimeline(ClientTimeline):
    def settings(self, server_s: float, set_max_w: int = 7200) -> int:
        body = {
            "setMaxW": {"multiplier": 0, "value": set_max_w},
            "setMaxDischargeRateW": {"multiplier": 0, "value": set_max_w},
            "setVRef": {"multiplier": 0, "value": 240},
            "setMaxVar": {"multiplier": 0, "value": 3600},
            "setMaxVarNeg": {"multiplier": 0, "value": 3600},
        }
        return self.send(server_s, "PUT", "/edev/1/der/1/derg", "DERSettings", body)

    def mirror(self, server_s: float) -> int:
        def declared(mrid: str, uom: int, multiplier: int) -> dict[str, Any]:
            return {"mRID": mrid, "ReadingType": {"uom": uom, "powerOfTenMultiplier": multiplier}}

        body = {
            "MirrorMeterReading": [
                declared("C" * 32, 38, 0),
                declared(VAR_MRID, 63, 0),
                declared(V_MRID, 29, -1),
                declared(HZ_MRID, 33, -2),
            ]
        }
        return self.send(server_s, "POST", "/mup", "MirrorUsagePoint", body)

    def curve(self, server_s: float, kind: int, points: list[tuple[int, int]], x_multiplier: int = 0) -> int:
        body = {
            "href": CURVE,
            "curveType": kind,
            "xMultiplier": x_multiplier,
            "yMultiplier": 0,
            "CurveData": [{"xvalue": x, "yvalue": y} for x, y in points],
        }
        return self.answer(server_s, CURVE, "DERCurve", body)

    def value(self, server_s: float, mrid: str, value: int) -> int:
        body = {"mRID": mrid, "Reading": {"value": value, "timePeriod": {"start": int(server_s)}}}
        return self.send(server_s, "POST", "/mup/1", "MirrorMeterReading", body)

    def period(
        self, server_s: float, watts: int, var: int, decivolts: int, centihertz: int
    ) -> tuple[int, int]:
        """One reading period as the reference EV posts it: W, var, V, Hz; the (W, var) frames."""
        w = self.reading(server_s, watts)
        q = self.value(server_s + 0.5, VAR_MRID, var)
        self.value(server_s + 1.0, V_MRID, decivolts)
        self.value(server_s + 1.5, HZ_MRID, centihertz)
        return w, q


def curve_run(**modes: Any) -> CurveTimeline:
    """Authorized at S0+11; program 2's control with ``modes`` from S0+600 for 1800 s."""
    timeline = CurveTimeline()
    timeline.time(S0)
    timeline.settings(S0 + 5)
    timeline.mirror(S0 + 6)
    timeline.programs(S0 + 10, ("/derp/1", 0), ("/derp/2", 1))
    timeline.default(S0 + 11, "/derp/1", opModEnergize="true")
    timeline.controls(S0 + 60, "/derp/2", control(MRID_A, S0 + 600, 1800, **modes))
    return timeline


def volt_var_spec(points: int = 2) -> dict[str, Any]:
    return {
        "kind": "der_power",
        "speedup": 120.0,
        "rules": ["volt_var"],
        "tolerance_w": 100.0,
        "settle_s": 150.0,
        "var_tolerance": 100.0,
        "min_grid_points": points,
    }


def volt_var_run(var_at_250: int) -> tuple[CurveTimeline, int]:
    """240 V then 250.8 V (104.5 % of setVRef: the curve gives -18.33 % of 3600 = 660 var absorbed,
    +660 var in the meter convention); the frame of the first judged reading at 250.8 V."""
    timeline = curve_run(opModVoltVar={"href": CURVE})
    timeline.curve(S0 + 61, 11, VOLT_VAR)
    for k in range(6):
        timeline.period(S0 + 800 + 30 * k, 0, 0, 2400, 6000)
    timeline.period(S0 + 980, 0, 660, 2508, 6000)  # first period at the new voltage: not steady yet
    frame = 0
    for k in range(1, 5):
        _, q = timeline.period(S0 + 980 + 30 * k, 0, var_at_250, 2508, 6000)
        frame = frame or q
    timeline.time(S0 + 2500)
    return timeline, frame


def test_volt_var_readings_on_the_curve_pass():
    timeline, _ = volt_var_run(660)
    outcome = judge(volt_var_spec(), timeline)
    assert outcome.verdict == Verdict.PASS, outcome.reason
    assert "volt_var: 9" in outcome.reason


def test_volt_var_ignored_fails_naming_the_readings():
    timeline, frame = volt_var_run(0)
    outcome = judge(volt_var_spec(), timeline)
    assert outcome.verdict == Verdict.FAIL
    assert frame in outcome.frames and "250.8 V" in outcome.reason and "660 var" in outcome.reason


def test_a_grid_that_never_moved_is_inconclusive():
    timeline = curve_run(opModVoltVar={"href": CURVE})
    timeline.curve(S0 + 61, 11, VOLT_VAR)
    for k in range(6):
        timeline.period(S0 + 800 + 30 * k, 0, 0, 2400, 6000)
    timeline.time(S0 + 2500)
    assert judge(volt_var_spec(), timeline).verdict == Verdict.INCONCLUSIVE
    assert judge(volt_var_spec(points=1), timeline).verdict == Verdict.PASS


def test_volt_var_without_voltage_readings_fails():
    timeline = curve_run(opModVoltVar={"href": CURVE})
    timeline.curve(S0 + 61, 11, VOLT_VAR)
    timeline.reading(S0 + 900, 0)
    timeline.value(S0 + 900.5, VAR_MRID, 0)
    timeline.time(S0 + 2500)
    outcome = judge(volt_var_spec(), timeline)
    assert outcome.verdict == Verdict.FAIL and "uom 29" in outcome.reason


def freq_watt_run(watts_at_6040: int) -> tuple[CurveTimeline, int]:
    """opModFixedW 50 % (3600 W export) at 60.00 Hz, then 60.40 Hz: the curve caps export at 40 % of
    7200 = 2880 W."""
    timeline = curve_run(opModFixedW={"disabled": "false", "value": 5000}, opModFreqWatt={"href": CURVE})
    timeline.curve(S0 + 61, 0, FREQ_WATT, x_multiplier=-2)
    for k in range(6):
        timeline.period(S0 + 800 + 30 * k, -3600, 0, 2400, 6000)
    timeline.period(S0 + 980, -2950, 0, 2400, 6040)
    frame = 0
    for k in range(1, 5):
        w, _ = timeline.period(S0 + 980 + 30 * k, watts_at_6040, 0, 2400, 6040)
        frame = frame or w
    timeline.time(S0 + 2500)
    return timeline, frame


def freq_watt_spec() -> dict[str, Any]:
    return {
        "kind": "der_power",
        "speedup": 120.0,
        "rules": ["freq_watt", "exports"],
        "tolerance_w": 100.0,
        "settle_s": 150.0,
        "min_grid_points": 2,
    }


def test_freq_watt_export_capped_by_the_curve_passes():
    timeline, _ = freq_watt_run(-2880)
    outcome = judge(freq_watt_spec(), timeline)
    assert outcome.verdict == Verdict.PASS, outcome.reason


def test_freq_watt_ignored_fails_naming_the_reading():
    timeline, frame = freq_watt_run(-3600)
    outcome = judge(freq_watt_spec(), timeline)
    assert outcome.verdict == Verdict.FAIL
    assert frame in outcome.frames and "60.4 Hz" in outcome.reason and "2880 W" in outcome.reason


def test_a_curve_mode_naming_an_unserved_curve_fails():
    timeline = curve_run(opModVoltVar={"href": "/derp/2/dc/9"})
    timeline.curve(S0 + 61, 11, VOLT_VAR)
    for k in range(4):
        timeline.period(S0 + 800 + 30 * k, 0, 0, 2400, 6000)
    timeline.time(S0 + 2500)
    outcome = judge(volt_var_spec(), timeline)
    assert outcome.verdict == Verdict.FAIL and "/derp/2/dc/9" in outcome.reason


def test_served_curve_interpolates_and_holds_beyond_its_ends():
    curve = ServedCurve(11, ((92.0, 44.0), (98.0, 0.0), (102.0, 0.0), (108.0, -44.0)), 1)
    assert curve.at(80) == 44 and curve.at(120) == -44
    assert curve.at(100) == 0 and abs(curve.at(95) - 22) < 1e-9 and abs(curve.at(104.5) + 18.333) < 1e-3


def test_curves_are_looked_up_by_the_body_href_or_else_the_path_asked():
    timeline = CurveTimeline()
    timeline.curve(S0, 11, VOLT_VAR)
    # Served without an href of its own: the GET's path names it.
    timeline.answer(
        S0 + 1, "/derp/2/dc/2", "DERCurve", {"curveType": 0, "CurveData": {"xvalue": 60, "yvalue": 100}}
    )
    timeline.answer(
        S0 + 2, "/derp/2/dc/3", "DERCurve", {"curveType": 0}
    )  # no points: not a curve to judge by
    curves = served_curves(timeline.events)
    assert sorted(curves) == [CURVE, "/derp/2/dc/2"] and curves["/derp/2/dc/2"].points == ((60.0, 100.0),)
    assert [href for _, href, _ in curve_answers(timeline.events)] == [CURVE, "/derp/2/dc/2", "/derp/2/dc/3"]
    assert list(curve_answers(timeline.events, lambda event: event.frame > 4))[0][1] == "/derp/2/dc/3"


def test_curves_served_inside_a_curve_list_count() -> None:
    # py20305 reads its curves from the DERCurveList alone and never GETs a DERCurve by itself.
    timeline = CurveTimeline()
    inline = {"href": "/derp/2/dc/1", "curveType": 0, "CurveData": [{"xvalue": 60, "yvalue": 100}]}
    timeline.answer(S0, "/derp/2/dc", "DERCurveList", {"href": "/derp/2/dc", "all": 1, "DERCurve": inline})
    curves = served_curves(timeline.events)
    assert list(curves) == ["/derp/2/dc/1"] and curves["/derp/2/dc/1"].points == ((60.0, 100.0),)
