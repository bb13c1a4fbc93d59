"""The battery and charger models in both directions: discharge lowers SOC and pack voltage, stops at the
minimum SOC, balances energy; the power stage sinks current within its discharge limits."""

from __future__ import annotations

import pytest

from harness.devices.models.battery import NMC_CELL_OCV, Battery, BatteryParameters, interpolate
from harness.devices.models.dc_charger import ChargerParameters, DcCharger, OutputMode

PACK = BatteryParameters(
    capacity_kwh=10.0, max_discharge_current_a=100.0, max_discharge_power_w=30_000.0, min_soc=30.0
)


def test_discharge_lowers_soc_and_pack_voltage() -> None:
    battery = Battery(PACK, soc=60.0)
    before = battery.open_circuit_voltage_v
    battery.advance(60.0, -50.0)
    assert battery.soc < 60.0
    assert battery.open_circuit_voltage_v < before
    assert battery.current_a == -50.0
    assert battery.charged_ah == 0.0


def test_discharged_energy_matches_the_soc_drop() -> None:
    battery = Battery(PACK, soc=60.0)
    battery.advance(300.0, -80.0)
    soc_drop_ah = (60.0 - battery.soc) / 100.0 * PACK.capacity_ah
    assert battery.discharged_ah == pytest.approx(soc_drop_ah, rel=1e-9)
    assert battery.discharged_ah == pytest.approx(80.0 * 300.0 / 3600.0, rel=1e-9)
    # Energy at the open-circuit voltage: between the charge at the end and at the start voltage (the OCV
    # falls monotonically with SOC), to within one integration step's energy.
    low = battery.discharged_ah * battery.open_circuit_voltage_v
    high = battery.discharged_ah * PACK.cells_in_series * interpolate(NMC_CELL_OCV, 60.0)
    step_wh = 80.0 * PACK.step_s / 3600.0 * high / battery.discharged_ah
    assert low - step_wh <= battery.discharged_wh <= high + step_wh


def test_discharge_stops_at_the_minimum_soc() -> None:
    battery = Battery(PACK, soc=31.0)
    battery.advance(3600.0, -100.0)
    # One integration step past the minimum at most: 100 A for 10 ms.
    assert (
        PACK.min_soc - 100.0 * PACK.step_s / 3600.0 / PACK.capacity_ah * 100.0 <= battery.soc <= PACK.min_soc
    )
    assert not battery.discharge_allowed
    assert battery.current_a == 0.0
    assert battery.discharge_current_a() == 0.0
    battery.advance(10.0, -100.0)
    assert battery.soc <= PACK.min_soc and battery.current_a == 0.0


def test_discharge_current_respects_the_bms_and_evse_limits() -> None:
    battery = Battery(PACK, soc=60.0)
    power_limited = PACK.max_discharge_power_w / battery.open_circuit_voltage_v
    assert battery.discharge_current_a() == pytest.approx(-min(100.0, power_limited))
    assert battery.discharge_current_a(20.0) == pytest.approx(-20.0)
    battery.advance(1.0, -500.0)
    assert battery.current_a == -100.0


def test_a_pack_without_discharge_limits_does_not_discharge() -> None:
    battery = Battery(BatteryParameters(), soc=50.0)
    battery.advance(10.0, -50.0)
    assert battery.soc == 50.0 and battery.current_a == 0.0
    assert battery.discharge_current_a() == 0.0


def test_invalid_discharge_parameters() -> None:
    with pytest.raises(ValueError):
        BatteryParameters(min_soc=90.0)
    with pytest.raises(ValueError):
        BatteryParameters(max_discharge_current_a=-1.0)
    with pytest.raises(ValueError):
        ChargerParameters(max_discharge_power_w=-1.0)


def _delivering(params: ChargerParameters) -> DcCharger:
    charger = DcCharger(params, present_voltage_v=400.0)
    charger.deliver(400.0, 0.0)
    return charger


def test_charger_sinks_current_within_its_discharge_limits() -> None:
    charger = _delivering(ChargerParameters(max_discharge_current_a=60.0, max_discharge_power_w=20_000.0))
    charger.deliver(400.0, -200.0)
    assert charger.target_current_a == -60.0
    charger.advance(5.0)
    assert charger.mode is OutputMode.DELIVERING
    # 20 kW at 400 V is 50 A, less than the 60 A rating.
    assert charger.present_current_a == pytest.approx(-50.0, abs=0.01)
    assert charger.discharged_wh > 0 and charger.delivered_wh == 0.0


def test_unidirectional_charger_does_not_sink() -> None:
    charger = _delivering(ChargerParameters())
    charger.deliver(400.0, -50.0)
    assert charger.target_current_a == 0.0
    charger.advance(2.0)
    assert charger.present_current_a >= 0.0 and charger.discharged_wh == 0.0
