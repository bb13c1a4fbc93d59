"""J2836/1 EV logic: 24-hour table, the three plans, re-plan on DR, start when planned (injected clock)."""

from __future__ import annotations

from harness.protocol.sep2.planner import (
    ROW_S,
    AcknowledgeEvent,
    ArmTimer,
    ChargeNeed,
    DrEvent,
    EvChargingLogic,
    PlanKind,
    PriceInterval,
    RequestFlowReservation,
    StartCharging,
    StopCharging,
    build_table,
    cheapest,
    fastest,
    optimized,
)

DAY = 1_767_225_600  # 2026-01-01T00:00Z
# Hourly prices: expensive until 01:00, cheap 02:00-05:00, expensive after.
PRICES = tuple(
    PriceInterval(DAY + h * ROW_S, ROW_S, 40 if 2 <= h < 5 else 300 if h == 1 else 150) for h in range(24)
)
NEED = ChargeNeed(energy_wh=20_000, max_power_w=7_200, time_charge_is_needed=DAY + 7 * ROW_S)


def test_table_has_24_rows_with_price_dr_and_tcin() -> None:
    event = DrEvent("AA", DAY + 3 * ROW_S, ROW_S, 3_000)
    table = build_table(DAY + 600, PRICES, (event,), NEED)
    assert len(table) == 24 and table[0].start == DAY
    assert [row.price for row in table[:3]] == [150, 300, 40]
    assert table[3].limit_w == 3_000 and table[2].limit_w is None
    assert [row.before_tcin for row in table[5:9]] == [True, True, False, False]


def test_fastest_starts_now_cheapest_waits_for_the_cheap_window() -> None:
    table = build_table(DAY, PRICES, (), NEED)
    fast = fastest(table, NEED, DAY)
    assert fast.start == DAY and fast.energy_wh == NEED.energy_wh and fast.power_w == 7_200
    cheap = cheapest(table, NEED, DAY)
    assert cheap.start == DAY + 2 * ROW_S and cheap.energy_wh == NEED.energy_wh
    assert cheap.cost < fast.cost
    best = optimized(table, NEED, DAY)
    assert set(best.hours) == {DAY + 2 * ROW_S, DAY + 3 * ROW_S, DAY + 4 * ROW_S}
    assert best.cost <= cheap.cost


def test_optimized_avoids_dr_capped_hours() -> None:
    event = DrEvent("AA", DAY + 3 * ROW_S, ROW_S, 0)
    best = optimized(build_table(DAY, PRICES, (event,), NEED), NEED, DAY)
    assert DAY + 3 * ROW_S not in best.hours and best.energy_wh == NEED.energy_wh


def test_logic_reserves_acknowledges_replans_and_starts_when_planned() -> None:
    logic = EvChargingLogic(NEED, PlanKind.CHEAPEST, replan_window_s=900)
    actions = logic.prices_received(DAY, PRICES)
    reservation = [a for a in actions if isinstance(a, RequestFlowReservation)]
    assert len(reservation) == 1 and reservation[0].plan.start == DAY + 2 * ROW_S
    timers = {a.name: a.at for a in actions if isinstance(a, ArmTimer)}
    assert timers["replan"] == DAY + 900 and timers["start"] == DAY + 2 * ROW_S
    assert not any(isinstance(a, StartCharging) for a in actions)
    assert logic.timer_expired(DAY + 2 * ROW_S - 1, "start") == []
    started = logic.timer_expired(DAY + 2 * ROW_S, "start")
    assert started and isinstance(started[0], StartCharging)
    # A DR event capping the planned hours: acknowledged and re-planned at once.
    event = DrEvent("BB", DAY + 2 * ROW_S, 3 * ROW_S, 1_000)
    changed = logic.events_received(DAY + 2 * ROW_S + 60, (event,))
    assert isinstance(changed[0], AcknowledgeEvent) and changed[0].mrid == "BB"
    assert any(isinstance(a, RequestFlowReservation) for a in changed)
    assert any(isinstance(a, StopCharging) for a in changed) or logic.charging
    # The same event again: no second acknowledgement, no new reservation.
    assert logic.events_received(DAY + 2 * ROW_S + 120, (event,)) == []
