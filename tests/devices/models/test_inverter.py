"""The EV's on-board inverter model: each mode, ramps, curves, the sign convention, SoC and reserve."""

from __future__ import annotations

import math

import pytest

from harness.devices.models.inverter import (
    CURVE_FREQ_WATT,
    CURVE_VOLT_VAR,
    EV_RATED_W,
    EV_RESERVE_SOC,
    Inverter,
    InverterFaults,
    InverterSettings,
    curve_from_data,
)
from harness.protocol.sep2.der_events import AppliedMode

# No ramp limit, so a command takes effect at once (ramps have their own tests).
INSTANT = InverterSettings(grad_w=0)
ENERGIZED = {"opModConnect": True, "opModEnergize": True}


def _inverter(**kwargs: object) -> Inverter:
    inverter = Inverter(settings=kwargs.pop("settings", INSTANT), **kwargs)  # type: ignore[arg-type]
    inverter.advance(0.0)
    return inverter


def test_fixed_w_positive_discharges_and_reads_negative() -> None:
    inverter = _inverter()
    inverter.apply({**ENERGIZED, "opModFixedW": 5000}, 0.0)  # 50.00 % of setMaxDischargeRateW
    assert inverter.power_w == pytest.approx(-EV_RATED_W / 2)
    inverter.apply({**ENERGIZED, "opModFixedW": -2500}, 10.0)  # charges at 25 % of setMaxChargeRateW
    assert inverter.power_w == pytest.approx(EV_RATED_W / 4)


def test_target_w_in_watts_and_limited_to_the_discharge_rate() -> None:
    inverter = _inverter()
    inverter.apply({**ENERGIZED, "opModTargetW": 3000}, 0.0)
    assert inverter.power_w == pytest.approx(-3000)
    inverter.apply({**ENERGIZED, "opModTargetW": 50_000}, 1.0)
    assert inverter.power_w == pytest.approx(-EV_RATED_W)


def test_no_real_power_command_holds_at_zero() -> None:
    inverter = _inverter()
    inverter.apply(ENERGIZED, 0.0)
    inverter.advance(3600.0)
    assert inverter.power_w == 0 and inverter.soc == pytest.approx(60.0)


@pytest.mark.parametrize("mode", ["opModEnergize", "opModConnect"])
def test_energize_or_connect_false_stops_export_and_import_at_once(mode: str) -> None:
    inverter = Inverter()  # the default ramp: stopping must not ramp
    inverter.apply({**ENERGIZED, "opModFixedW": 10_000}, 0.0)
    inverter.advance(60.0)
    assert inverter.power_w == pytest.approx(-EV_RATED_W)
    inverter.apply({**ENERGIZED, mode: False, "opModFixedW": 10_000}, 60.0)
    assert inverter.power_w == 0
    inverter.apply({**ENERGIZED, mode: False, "opModFixedW": -10_000}, 70.0)
    inverter.advance(100.0)
    assert inverter.power_w == 0


def test_ignores_energize_fault_keeps_exporting() -> None:
    inverter = _inverter(faults=InverterFaults(ignores_energize=True))
    inverter.apply({"opModEnergize": False, "opModFixedW": 5000}, 0.0)
    assert inverter.power_w == pytest.approx(-EV_RATED_W / 2)


def test_max_lim_w_caps_export_not_import() -> None:
    inverter = _inverter()
    inverter.apply({**ENERGIZED, "opModFixedW": 10_000, "opModMaxLimW": 3000}, 0.0)  # 30 % of setMaxW
    assert inverter.power_w == pytest.approx(-0.3 * EV_RATED_W)
    inverter.apply({**ENERGIZED, "opModFixedW": -10_000, "opModMaxLimW": 3000}, 1.0)
    assert inverter.power_w == pytest.approx(EV_RATED_W)


def test_ignores_max_lim_w_fault_exports_above_the_cap() -> None:
    inverter = _inverter(faults=InverterFaults(ignores_max_lim_w=True))
    inverter.apply({**ENERGIZED, "opModFixedW": 10_000, "opModMaxLimW": 3000}, 0.0)
    assert inverter.power_w == pytest.approx(-EV_RATED_W)


def test_exports_unauthorized_fault_exports_until_the_first_energize_true() -> None:
    good = _inverter()
    rogue = _inverter(faults=InverterFaults(exports_unauthorized=True))
    for inverter in (good, rogue):
        inverter.apply({"opModEnergize": False}, 0.0)
    assert good.power_w == 0 and rogue.power_w == pytest.approx(-EV_RATED_W)
    rogue.apply({"opModEnergize": True}, 10.0)  # authorized: now it holds like a good one
    assert rogue.power_w == 0 and rogue.authorized


def test_own_export_cap_applies_on_top_of_the_command() -> None:
    inverter = _inverter()
    inverter.apply({**ENERGIZED, "opModFixedW": 10_000}, 0.0)
    inverter.set_export_cap(0.0, 2000)
    assert inverter.power_w == pytest.approx(-2000)
    inverter.set_export_cap(1.0, None)
    assert inverter.power_w == pytest.approx(-EV_RATED_W)


def test_fixed_pf_gives_reactive_power_from_real_power() -> None:
    inverter = _inverter()
    pf_inject = (("displacement", 90), ("excitation", False), ("multiplier", -2))
    inverter.apply({**ENERGIZED, "opModFixedW": 5000, "opModFixedPFInjectW": pf_inject}, 0.0)
    expected = EV_RATED_W / 2 * math.tan(math.acos(0.9))
    assert inverter.reactive_power_var == pytest.approx(expected)  # over-excited: injects var
    pf_absorb = (("displacement", 95), ("excitation", True), ("multiplier", -2))
    inverter.apply({**ENERGIZED, "opModFixedW": -5000, "opModFixedPFAbsorbW": pf_absorb}, 1.0)
    assert inverter.reactive_power_var == pytest.approx(-EV_RATED_W / 2 * math.tan(math.acos(0.95)))


def test_reactive_power_is_integrated_over_time() -> None:
    inverter = _inverter()
    pf_inject = (("displacement", 90), ("excitation", False), ("multiplier", -2))
    inverter.apply({**ENERGIZED, "opModFixedW": 5000, "opModFixedPFInjectW": pf_inject}, 0.0)
    inverter.advance(30.0)
    assert inverter.injected_vars == pytest.approx(30 * EV_RATED_W / 2 * math.tan(math.acos(0.9)))


def test_ignores_fixed_pf_fault_runs_at_unity_power_factor() -> None:
    inverter = _inverter(faults=InverterFaults(ignores_fixed_pf=True))
    pf_inject = (("displacement", 90), ("excitation", False), ("multiplier", -2))
    inverter.apply({**ENERGIZED, "opModFixedW": 5000, "opModFixedPFInjectW": pf_inject}, 0.0)
    inverter.advance(30.0)
    assert inverter.power_w == pytest.approx(-EV_RATED_W / 2)
    assert inverter.reactive_power_var == 0.0
    assert inverter.injected_vars == 0.0


def test_volt_var_curve_follows_the_grid_voltage() -> None:
    inverter = _inverter()
    # x: percent of setVRef (hundredths), y: percent of setMaxVar (hundredths).
    curve = curve_from_data(CURVE_VOLT_VAR, ((9200, 5000), (9800, 0), (10200, 0), (10800, -5000)), -2, -2)
    inverter.load_curve("/derp/1/dc/1", curve)
    inverter.apply({**ENERGIZED, "opModVoltVar": "/derp/1/dc/1"}, 0.0)
    assert inverter.reactive_power_var == 0  # nominal voltage: inside the dead band
    inverter.set_grid(1.0, voltage_v=240 * 0.95)
    assert inverter.reactive_power_var == pytest.approx(0.25 * 3600)  # low voltage: inject
    inverter.set_grid(2.0, voltage_v=240 * 1.08)
    assert inverter.reactive_power_var == pytest.approx(-0.5 * 3600)  # high voltage: absorb


def test_freq_watt_curve_caps_export_as_frequency_rises() -> None:
    inverter = _inverter()
    curve = curve_from_data(CURVE_FREQ_WATT, ((6003, 100), (6100, 0), (6200, -50)), -2, 0)
    inverter.load_curve("/derp/1/dc/2", curve)
    inverter.apply({**ENERGIZED, "opModFixedW": 10_000, "opModFreqWatt": "/derp/1/dc/2"}, 0.0)
    assert inverter.power_w == pytest.approx(-EV_RATED_W)
    inverter.set_grid(1.0, frequency_hz=60.515)
    assert -EV_RATED_W < inverter.power_w < 0
    inverter.set_grid(2.0, frequency_hz=62.0)
    assert inverter.power_w == pytest.approx(0.5 * EV_RATED_W)  # absorbs half of setMaxW


def test_ramp_tms_spreads_the_change_over_the_given_time() -> None:
    inverter = _inverter()
    mode = AppliedMode(10_000, "C1", "P1", ramp_tms=6000)  # 60 s
    inverter.apply({**ENERGIZED, "opModFixedW": mode}, 0.0)
    assert inverter.power_w == 0
    inverter.advance(30.0)
    assert inverter.power_w == pytest.approx(-EV_RATED_W / 2)
    inverter.advance(60.0)
    assert inverter.power_w == pytest.approx(-EV_RATED_W)
    # Energy over the ramp: a triangle, then the flat part.
    inverter.advance(120.0)
    assert inverter.exported_wh == pytest.approx(EV_RATED_W * (30 + 60) / 3600)


def test_without_ramp_tms_set_grad_w_applies() -> None:
    inverter = Inverter(settings=InverterSettings(grad_w=500))  # 5 %/s of setMaxW: 20 s full swing
    inverter.apply({**ENERGIZED, "opModFixedW": 10_000}, 0.0)
    inverter.advance(10.0)
    assert inverter.power_w == pytest.approx(-EV_RATED_W / 2)
    inverter.advance(20.0)
    assert inverter.power_w == pytest.approx(-EV_RATED_W)


def test_soc_integrates_power_both_ways() -> None:
    inverter = _inverter()
    capacity_wh = inverter.battery.params.capacity_kwh * 1000
    inverter.apply({**ENERGIZED, "opModTargetW": 6000}, 0.0)
    inverter.advance(1800.0)  # 3 kWh out
    assert inverter.soc == pytest.approx(60.0 - 100 * 3000 / capacity_wh)
    inverter.apply({**ENERGIZED, "opModTargetW": -6000}, 1800.0)
    inverter.advance(3600.0)  # 3 kWh back in
    assert inverter.soc == pytest.approx(60.0)
    assert inverter.exported_wh == pytest.approx(3000) and inverter.imported_wh == pytest.approx(3000)


def test_export_stops_at_the_drive_reserve() -> None:
    inverter = _inverter()
    inverter.apply({**ENERGIZED, "opModFixedW": 10_000}, 0.0)
    inverter.advance(10 * 3600.0)  # far more than the 24 kWh above the reserve
    assert inverter.soc == pytest.approx(EV_RESERVE_SOC)
    assert inverter.power_w == 0
    assert inverter.exported_wh == pytest.approx((60.0 - EV_RESERVE_SOC) / 100 * 60_000)


def test_below_reserve_fault_discharges_past_the_reserve() -> None:
    inverter = _inverter(faults=InverterFaults(below_reserve=True))
    inverter.apply({**ENERGIZED, "opModFixedW": 10_000}, 0.0)
    inverter.advance(5 * 3600.0)
    assert inverter.soc < EV_RESERVE_SOC - 10


def test_import_stops_when_full() -> None:
    inverter = _inverter()
    inverter.apply({**ENERGIZED, "opModFixedW": -10_000}, 0.0)
    inverter.advance(10 * 3600.0)
    assert inverter.soc == pytest.approx(100.0) and inverter.power_w == 0


def test_requested_export_of_a_control() -> None:
    inverter = _inverter()
    assert inverter.requested_export_w({"opModFixedW": 5000, "opModMaxLimW": 2500}) == pytest.approx(1800)
    assert inverter.requested_export_w({"opModTargetW": 99_000}) == pytest.approx(EV_RATED_W)
    assert inverter.requested_export_w({"opModFixedW": -5000}) == 0


def test_import_cap_limits_charging_not_export() -> None:
    inverter = _inverter()
    inverter.apply({**ENERGIZED, "opModFixedW": -10_000}, 0.0)
    inverter.set_import_cap(0.0, 3240)
    assert inverter.power_w == pytest.approx(3240)
    inverter.apply({**ENERGIZED, "opModFixedW": 10_000}, 1.0)
    assert inverter.power_w == pytest.approx(-EV_RATED_W)
    inverter.set_import_cap(2.0, None)
    inverter.apply({**ENERGIZED, "opModFixedW": -10_000}, 3.0)
    assert inverter.power_w == pytest.approx(EV_RATED_W)
