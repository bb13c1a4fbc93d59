"""The EV's next-drive check: full, partial and opt-out, and their edges."""

from __future__ import annotations

import pytest

from harness.codec.sep2.values import ResponseStatus
from harness.protocol.sep2.der_drive import MIN_EXPORT_WH, NextDrive, Participation, plan_discharge

HOUR = 3600
# 60 kWh, leaves at 07:00 (t = 7 h) with 80 %, reserve 20 %, recharges at 7.2 kW.
DRIVE = NextDrive(capacity_wh=60_000, departure=7 * HOUR, target_soc=80, reserve_soc=20, max_charge_w=7200)


def _plan(soc: float, start: float, duration: float, export_w: float = 7200, now: float = 0):
    return plan_discharge(soc, DRIVE, start=start, duration=duration, export_w=export_w, now=now)


def test_full_when_the_energy_is_there() -> None:
    # 60 % = 36 kWh; a 2 h event ending at 03:00 leaves 21.6 kWh + 4 h x 7.2 kW = 50.4 kWh >= 48 kWh.
    plan = _plan(60, HOUR, 2 * HOUR)
    assert plan.participation is Participation.FULL and plan.status is None
    assert plan.requested_wh == pytest.approx(14_400) and plan.cap_w is None


def test_partial_caps_power_to_what_the_next_drive_leaves() -> None:
    # A 4 h event ending at 05:00: 36 + 14.4 - 48 = 2.4 kWh to spare of the 28.8 asked.
    plan = _plan(60, HOUR, 4 * HOUR)
    assert plan.participation is Participation.PARTIAL
    assert plan.status is ResponseStatus.PARTIAL_OPT_OUT
    assert plan.exportable_wh == pytest.approx(2400)
    assert plan.cap_w == pytest.approx(600)  # 2.4 kWh over 4 h
    assert plan.stop_at is None


def test_partial_at_the_reserve_limit() -> None:
    # 25 % with a short event: only 5 % (3 kWh) lies above the reserve.
    plan = _plan(25, 0, HOUR)
    assert plan.participation is Participation.PARTIAL
    assert plan.exportable_wh == pytest.approx(min(3000, 15_000 + 6 * 7200 - 48_000))


def test_opt_out_when_the_event_ends_at_departure_and_nothing_is_spare() -> None:
    plan = _plan(60, 3 * HOUR, 4 * HOUR)  # 36 kWh, no time to recharge, needs 48
    assert plan.participation is Participation.OPT_OUT and plan.status is ResponseStatus.OPTED_OUT
    assert plan.exportable_wh == 0


def test_opt_out_at_the_reserve() -> None:
    assert _plan(20, 0, HOUR).participation is Participation.OPT_OUT


def test_threshold_edge_of_nothing_to_give() -> None:
    # Spare energy at departure just above / below MIN_EXPORT_WH (no time left to recharge).
    below = NextDrive(60_000, 7 * HOUR, 80, 20, 0)
    soc_at = 80 + 100 * (MIN_EXPORT_WH * 1.01) / 60_000
    assert plan_discharge(soc_at, below, start=0, duration=HOUR, export_w=7200, now=0).participation == (
        Participation.PARTIAL
    )
    soc_under = 80 + 100 * (MIN_EXPORT_WH * 0.99) / 60_000
    assert plan_discharge(soc_under, below, start=0, duration=HOUR, export_w=7200, now=0).participation == (
        Participation.OPT_OUT
    )


def test_exactly_enough_is_full() -> None:
    # 14.4 kWh asked; spare = 36 + 7.2 x 4 - 48 = 16.8 kWh; at 56 % spare = 33.6 + 28.8 - 48 = 14.4.
    assert _plan(56, HOUR, 2 * HOUR).participation is Participation.FULL
    assert _plan(55.9, HOUR, 2 * HOUR).participation is Participation.PARTIAL


def test_event_past_departure_is_partial_with_a_stop_at_departure() -> None:
    plan = _plan(90, 6 * HOUR, 2 * HOUR, export_w=1000)
    assert plan.participation is Participation.PARTIAL
    assert plan.stop_at == DRIVE.departure and plan.cap_w == pytest.approx(1000)


def test_event_after_departure_is_opted_out() -> None:
    assert _plan(90, 8 * HOUR, HOUR).participation is Participation.OPT_OUT


def test_charging_or_no_export_is_full_participation() -> None:
    assert _plan(20, 0, HOUR, export_w=-7200).participation is Participation.FULL
    assert _plan(20, 0, HOUR, export_w=0).participation is Participation.FULL


def test_an_active_event_is_planned_for_what_is_left_of_it() -> None:
    # Seen 3 h into a 4 h event: only the last hour is asked for.
    plan = _plan(60, HOUR, 4 * HOUR, now=4 * HOUR)
    assert plan.requested_wh == pytest.approx(7200)
    assert plan.participation is Participation.PARTIAL  # 36 + 14.4 - 48 = 2.4 kWh spare


def test_charge_need_is_the_j2836_1_need() -> None:
    need = DRIVE.charge_need(50)
    assert (need.energy_wh, need.max_power_w, need.time_charge_is_needed) == (18_000, 7200, 7 * HOUR)
    assert DRIVE.charge_need(95).energy_wh == 0


def test_inconsistent_drive_is_refused() -> None:
    with pytest.raises(ValueError):
        NextDrive(60_000, HOUR, target_soc=10, reserve_soc=20, max_charge_w=7200)
