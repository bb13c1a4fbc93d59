"""The reference devices' physics: battery and DC charger models."""

from __future__ import annotations

import math

import pytest

from harness.devices.models.battery import Battery, BatteryParameters, ClockedBattery
from harness.devices.models.dc_charger import (
    PRECHARGE_CURRENT_LIMIT_A,
    ChargerParameters,
    DcCharger,
    IsolationResult,
    OutputMode,
)


def test_pack_voltage_rises_with_soc() -> None:
    voltages = [Battery(soc=soc).open_circuit_voltage_v for soc in range(0, 101, 5)]
    assert voltages == sorted(voltages)
    assert voltages[0] == pytest.approx(96 * 3.0)
    assert voltages[-1] == pytest.approx(96 * 4.2)


def test_terminal_voltage_includes_the_resistive_rise() -> None:
    battery = Battery(soc=50.0)
    battery.advance(0.0, 100.0)
    assert battery.terminal_voltage_v == pytest.approx(battery.open_circuit_voltage_v + 100.0 * 0.08)


def test_soc_integrates_charge() -> None:
    params = BatteryParameters(capacity_kwh=10.0)
    battery = Battery(params, soc=20.0)
    battery.advance(3600.0, params.capacity_ah / 10)  # a tenth of the capacity in an hour
    assert battery.soc == pytest.approx(30.0)
    assert battery.charged_ah == pytest.approx(params.capacity_ah / 10)


def test_current_request_tapers_to_the_target() -> None:
    params = BatteryParameters(max_current_a=200.0, min_current_a=5.0, taper_start_soc=70.0, target_soc=80.0)
    assert Battery(params, soc=50.0).requested_current_a() == pytest.approx(200.0)
    assert Battery(params, soc=75.0).requested_current_a() == pytest.approx(102.5)
    assert Battery(params, soc=79.99).requested_current_a() == pytest.approx(5.0, abs=0.5)
    assert Battery(params, soc=80.0).requested_current_a() == 0.0
    assert Battery(params, soc=80.0).charging_complete


def test_power_limit_caps_the_request() -> None:
    params = BatteryParameters(max_current_a=500.0, max_power_w=50_000.0)
    battery = Battery(params, soc=50.0)
    assert battery.requested_current_a() == pytest.approx(50_000.0 / battery.open_circuit_voltage_v)


def test_clocked_battery_integrates_between_timestamps() -> None:
    params = BatteryParameters(capacity_kwh=10.0)
    clocked = ClockedBattery(Battery(params, soc=20.0))
    clocked.advance_to(100.0)
    clocked.set_current(100.0, params.capacity_ah)
    clocked.advance_to(100.0 + 360.0)
    assert clocked.battery.soc == pytest.approx(30.0)


def test_invalid_battery_parameters_are_rejected() -> None:
    with pytest.raises(ValueError):
        BatteryParameters(target_soc=60.0, taper_start_soc=70.0)


@pytest.mark.parametrize(
    ("resistance", "result"),
    [
        (10_000_000.0, IsolationResult.Valid),
        (100_000.0, IsolationResult.Warning),
        (10_000.0, IsolationResult.Fault),
    ],
)
def test_isolation_check_classifies_resistance(resistance: float, result: IsolationResult) -> None:
    charger = DcCharger(
        ChargerParameters(isolation_resistance_ohm=resistance, isolation_check_duration_s=1.0)
    )
    charger.start_isolation_check()
    charger.advance(0.9)
    assert not charger.isolation_check_finished
    assert charger.present_voltage_v > 400.0  # test voltage applied
    charger.advance(2.0)
    assert charger.isolation_status is result
    assert charger.present_voltage_v <= 60.0  # discharged before it reports


def test_precharge_is_a_first_order_ramp_with_limited_current() -> None:
    params = ChargerParameters(voltage_time_constant_s=0.5)
    charger = DcCharger(params)
    charger.precharge(400.0, 10.0)
    assert charger.target_current_a == PRECHARGE_CURRENT_LIMIT_A
    charger.advance(0.5)
    assert charger.present_voltage_v == pytest.approx(400.0 * (1 - math.exp(-1)), rel=1e-6)
    charger.advance(5.0)
    assert charger.present_voltage_v == pytest.approx(400.0, abs=0.1)


def test_delivery_follows_the_request_within_limits() -> None:
    params = ChargerParameters(max_current_a=125.0, max_power_w=50_000.0, current_time_constant_s=0.3)
    charger = DcCharger(params, present_voltage_v=400.0)
    charger.deliver(400.0, 300.0)
    assert charger.mode is OutputMode.DELIVERING
    assert charger.target_current_a == 125.0  # rated current
    charger.advance(0.3)
    assert charger.present_current_a == pytest.approx(125.0 * (1 - math.exp(-1)), rel=1e-3)
    charger.advance(5.0)
    assert charger.present_current_a == pytest.approx(min(125.0, 50_000.0 / 400.0), rel=1e-3)
    assert charger.current_limit_achieved
    assert charger.delivered_wh > 0


def test_power_limit_caps_delivery() -> None:
    charger = DcCharger(ChargerParameters(max_current_a=200.0, max_power_w=40_000.0), present_voltage_v=400.0)
    charger.deliver(400.0, 200.0)
    charger.advance(10.0)
    assert charger.present_current_a == pytest.approx(100.0, rel=1e-3)
    assert charger.power_limit_achieved


def test_stop_discharges_the_output() -> None:
    charger = DcCharger(present_voltage_v=400.0, present_current_a=100.0)
    charger.stop()
    charger.advance(2.0)
    assert charger.present_voltage_v < 1.0
    assert charger.present_current_a < 1.0


def test_advance_to_is_independent_of_how_time_is_split() -> None:
    one = DcCharger()
    many = DcCharger()
    for charger in (one, many):
        charger.advance_to(0.0)
        charger.precharge(380.0, 2.0)
    one.advance_to(3.0)
    for i in range(1, 301):
        many.advance_to(i * 0.01)
    assert one.present_voltage_v == pytest.approx(many.present_voltage_v, rel=1e-9)
