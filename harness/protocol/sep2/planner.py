"""The EV's SAE J2836/1 charging logic over IEEE 2030.5 pricing and DR, sans-I/O.

SAE J2836/1 (AC charging use cases; shared/REFERENCE.md section 7): the EV builds a 24-hour table of
price, demand response limit and whether each hour lies before the time the charge is needed (TCIN),
offers the driver the fastest, cheapest or optimized plan, sends its choice to the utility as a
FlowReservationRequest (energy, power, window) with its PEVInfo, re-plans and acknowledges within a
window (15 min by default) when prices or DR events change, and starts charging when planned.

:class:`EvChargingLogic` takes events with a timestamp (UTC seconds of whatever clock the caller
injects: the server's Time, a simulated day) and returns actions.  No sockets, no sleeps, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from harness.codec.sep2.values import ResponseStatus

# SAE J2836/1: the EV plans over the next 24 hours.
TABLE_HOURS = 24
# One table row per hour (TOU, real-time and critical-peak prices are all hourly in the sim lab).
ROW_S = 3600
SECONDS_PER_HOUR = 3600


class PlanKind(StrEnum):
    """The three choices SAE J2836/1 offers the customer."""

    FASTEST = "fastest"
    CHEAPEST = "cheapest"
    OPTIMIZED = "optimized"


@dataclass(frozen=True, slots=True)
class PriceInterval:
    """One TimeTariffInterval with its price (ConsumptionTariffInterval.price, in the rate's units)."""

    start: int
    duration: int
    price: int
    tier: int = 1


@dataclass(frozen=True, slots=True)
class DrEvent:
    """One EndDeviceControl: from ``start`` for ``duration`` the EV draws at most ``limit_w``."""

    mrid: str
    start: int
    duration: int
    limit_w: int
    cancelled: bool = False


@dataclass(frozen=True, slots=True)
class ChargeNeed:
    """What the EV needs: energy to add, its maximum charging power and when it leaves."""

    energy_wh: int
    max_power_w: int
    time_charge_is_needed: int


@dataclass(frozen=True, slots=True)
class TableRow:
    start: int
    price: int | None  # None: no tariff covers this hour
    limit_w: int | None  # DR cap, None when no event
    before_tcin: bool

    def power_w(self, max_power_w: int) -> int:
        return max_power_w if self.limit_w is None else max(0, min(max_power_w, self.limit_w))


@dataclass(frozen=True, slots=True)
class Plan:
    kind: PlanKind
    start: int
    end: int
    power_w: int
    energy_wh: int
    hours: tuple[int, ...]  # start times of the hours the plan charges in
    cost: int  # sum of price x kWh in the tariff's units (for comparison only)

    @property
    def duration(self) -> int:
        return self.end - self.start


def build_table(
    now: int, prices: tuple[PriceInterval, ...], events: tuple[DrEvent, ...], need: ChargeNeed
) -> tuple[TableRow, ...]:
    """The 24-hour price/DR/TCIN table from the hour containing ``now``."""
    first = now - now % ROW_S
    rows = []
    for index in range(TABLE_HOURS):
        start = first + index * ROW_S
        price = next((p.price for p in prices if p.start <= start < p.start + p.duration), None)
        limits = [
            e.limit_w
            for e in events
            if not e.cancelled and e.start < start + ROW_S and start < e.start + e.duration
        ]
        rows.append(
            TableRow(
                start, price, min(limits) if limits else None, start + ROW_S <= need.time_charge_is_needed
            )
        )
    return tuple(rows)


def _energy(rows: list[TableRow], need: ChargeNeed) -> list[tuple[TableRow, int]]:
    """Hours of ``rows`` in order with the energy each contributes until the need is met."""
    out, left = [], need.energy_wh
    for row in rows:
        if left <= 0:
            break
        wh = min(left, row.power_w(need.max_power_w) * ROW_S // SECONDS_PER_HOUR)
        if wh > 0:
            out.append((row, wh))
            left -= wh
    return out


def _plan(kind: PlanKind, chosen: list[tuple[TableRow, int]], need: ChargeNeed, now: int) -> Plan:
    if not chosen:
        return Plan(kind, now, now, 0, 0, (), 0)
    chosen.sort(key=lambda item: item[0].start)
    power = max(row.power_w(need.max_power_w) for row, _ in chosen)
    energy = sum(wh for _, wh in chosen)
    start = max(now, chosen[0][0].start)
    last_row, last_wh = chosen[-1]
    end = max(start, last_row.start) + (last_wh * SECONDS_PER_HOUR) // max(
        1, last_row.power_w(need.max_power_w)
    )
    cost = sum((row.price or 0) * wh for row, wh in chosen) // 1000
    return Plan(kind, start, end, power, energy, tuple(row.start for row, _ in chosen), cost)


def fastest(table: tuple[TableRow, ...], need: ChargeNeed, now: int) -> Plan:
    """Charge from now at the highest power the DR caps allow until the energy is in."""
    return _plan(PlanKind.FASTEST, _energy(list(table), need), need, now)


def cheapest(table: tuple[TableRow, ...], need: ChargeNeed, now: int) -> Plan:
    """One contiguous window before TCIN with the lowest cost (one FlowReservation interval)."""
    usable = [r for r in table if r.before_tcin and r.price is not None]
    best: list[tuple[TableRow, int]] | None = None
    best_cost = None
    for first in range(len(usable)):
        window = _energy(usable[first:], need)
        if sum(wh for _, wh in window) < need.energy_wh:
            continue
        cost = sum((row.price or 0) * wh for row, wh in window)
        if best_cost is None or cost < best_cost:
            best, best_cost = window, cost
    return _plan(PlanKind.CHEAPEST, best or _energy(list(table), need), need, now)


def optimized(table: tuple[TableRow, ...], need: ChargeNeed, now: int) -> Plan:
    """The cheapest hours before TCIN wherever they are, avoiding DR-capped hours where it can."""
    usable = [r for r in table if r.before_tcin and r.price is not None]
    ranked = sorted(usable, key=lambda r: (r.limit_w is not None, r.price, r.start))
    chosen = _energy(ranked, need)
    return _plan(PlanKind.OPTIMIZED, chosen or _energy(list(table), need), need, now)


PLANNERS = {PlanKind.FASTEST: fastest, PlanKind.CHEAPEST: cheapest, PlanKind.OPTIMIZED: optimized}


# --- actions -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestFlowReservation:
    """Send a FlowReservationRequest (and PEVInfo) for ``plan``."""

    plan: Plan
    need: ChargeNeed
    at: int


@dataclass(frozen=True, slots=True)
class AcknowledgeEvent:
    """Send a DrResponse for the event ``mrid`` (status code per IEEE 2030.5 Response.status)."""

    mrid: str
    status: int
    at: int


@dataclass(frozen=True, slots=True)
class ArmTimer:
    """Call :meth:`EvChargingLogic.timer_expired` at ``at`` (the re-plan deadline or the plan start)."""

    name: str
    at: int


@dataclass(frozen=True, slots=True)
class StartCharging:
    plan: Plan
    at: int


@dataclass(frozen=True, slots=True)
class StopCharging:
    at: int
    reason: str


Action = RequestFlowReservation | AcknowledgeEvent | ArmTimer | StartCharging | StopCharging


@dataclass
class EvChargingLogic:
    """The EV's J2836/1 logic: table, plan, reservation, acknowledgements, start when planned."""

    need: ChargeNeed
    choice: PlanKind = PlanKind.OPTIMIZED
    replan_window_s: float = 900.0
    prices: tuple[PriceInterval, ...] = ()
    events: tuple[DrEvent, ...] = ()
    plan: Plan | None = None
    charging: bool = False
    acknowledged: set[str] = field(default_factory=set)
    replan_due: int | None = None  # the deadline of a pending re-plan

    def table(self, now: int) -> tuple[TableRow, ...]:
        return build_table(now, self.prices, self.events, self.need)

    def plans(self, now: int) -> dict[PlanKind, Plan]:
        """Every plan the EV would offer the driver now."""
        table = self.table(now)
        return {kind: planner(table, self.need, now) for kind, planner in PLANNERS.items()}

    def prices_received(self, now: int, prices: tuple[PriceInterval, ...]) -> list[Action]:
        if prices == self.prices and self.plan is not None:
            return []
        self.prices = prices
        return self._changed(now)

    def events_received(self, now: int, events: tuple[DrEvent, ...]) -> list[Action]:
        actions: list[Action] = []
        for event in events:
            if event.mrid not in self.acknowledged:
                self.acknowledged.add(event.mrid)
                actions.append(AcknowledgeEvent(event.mrid, ResponseStatus.EVENT_RECEIVED, now))
        if events == self.events and self.plan is not None:
            return actions
        self.events = events
        return actions + self._changed(now)

    def _changed(self, now: int) -> list[Action]:
        # The deadline is armed as a timer; this logic re-plans at once, so the deadline is only
        # the bound the timer documents (a slower EV would plan when it fires).
        self.replan_due = now + int(self.replan_window_s)
        actions: list[Action] = [ArmTimer("replan", self.replan_due)]
        return actions + self._replan(now)

    def _replan(self, now: int) -> list[Action]:
        self.replan_due = None
        plan = PLANNERS[self.choice](self.table(now), self.need, now)
        actions: list[Action] = []
        if plan != self.plan:
            self.plan = plan
            actions.append(RequestFlowReservation(plan, self.need, now))
        if self.charging and not self._inside(plan, now):
            self.charging = False
            actions.append(StopCharging(now, "outside the new plan"))
        actions.extend(self.timer_expired(now, "start"))
        if not self.charging and plan.energy_wh > 0 and plan.start > now:
            actions.append(ArmTimer("start", plan.start))
        return actions

    @staticmethod
    def _inside(plan: Plan, now: int) -> bool:
        return plan.energy_wh > 0 and any(h <= now < h + ROW_S for h in plan.hours) and now < plan.end

    def timer_expired(self, now: int, name: str) -> list[Action]:
        if name == "replan":
            return self._replan(now) if self.replan_due is not None and now >= self.replan_due else []
        plan = self.plan
        if plan is None:
            return []
        if not self.charging and self._inside(plan, now):
            self.charging = True
            return [StartCharging(plan, now)]
        if self.charging and not self._inside(plan, now):
            self.charging = False
            return [StopCharging(now, "plan finished" if now >= plan.end else "between planned hours")]
        return []
