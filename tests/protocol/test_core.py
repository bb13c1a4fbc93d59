"""The protocol kernel: timer table, FaultyCore, and the two drivers (simulated clock, asyncio)."""

from __future__ import annotations

import asyncio

import pytest

from harness.protocol.core import (
    CancelTimer,
    MessageReceived,
    Send,
    StartTimer,
    TimedCore,
    TimerExpired,
    TimerTable,
    expire_due,
)
from harness.protocol.faults import FAULT_RELEASE_TIMER, Delay, Drop, FaultyCore
from harness.protocol.simclock import SimulatedClock
from harness.transport.driver import CoreDriver


class Pinger(TimedCore):
    """Sends 'ping' every ``period`` s until it received ``limit`` pongs; a pong re-arms the timer."""

    def __init__(self, period: float = 1.0, limit: int = 3) -> None:
        super().__init__()
        self.period = period
        self.limit = limit
        self.pongs = 0
        self.stale = 0

    def handle(self, event: object, now: float) -> list[object]:
        if isinstance(event, TimerExpired):
            if not self.timers.fire(event.name, now):
                self.stale += 1
                return []
            return [Send("ping", "Ping"), self.timers.start("retry", now + self.period)]
        if isinstance(event, MessageReceived):
            self.pongs += 1
            if self.pongs >= self.limit:
                return self.timers.cancel_all()
            return [self.timers.start("retry", now + self.period)]
        return [Send("ping", "Ping"), self.timers.start("retry", now + self.period)]


def test_timer_table_ignores_stale_and_rearmed_expiries() -> None:
    table = TimerTable()
    assert table.start("a", 1.0) == StartTimer("a", 1.0)
    table.start("a", 2.0)  # re-armed: the old deadline is stale
    assert not table.fire("a", 1.0)
    assert table.due(1.5) == []
    assert table.due(2.0) == ["a"]
    assert table.fire("a", 2.0)
    assert not table.fire("a", 2.0)  # fired once only
    assert table.cancel("a") == []  # not armed any more
    table.start("b", 3.0)
    table.start("c", 1.0)
    assert table.next_deadline() == 1.0
    assert table.due(5.0) == ["c", "b"]
    assert table.cancel_all() == [CancelTimer("b"), CancelTimer("c")]
    assert table.next_deadline() is None


def test_expire_due_feeds_each_due_timer() -> None:
    core = Pinger()
    core.handle(object(), 0.0)
    [(event, actions)] = expire_due(core, 1.0)
    assert event == TimerExpired("retry")
    assert actions == [Send("ping", "Ping"), StartTimer("retry", 2.0)]
    assert expire_due(core, 1.5) == []


def test_simulated_clock_runs_timers_and_deliveries_in_time_order() -> None:
    clock = SimulatedClock()
    sent: list[tuple[float, str]] = []
    core = Pinger(period=1.0, limit=2)

    def perform(actions: list[object], now: float) -> None:
        for action in actions:
            if isinstance(action, Send):
                sent.append((now, action.name))

    me = clock.attach(core, perform)
    clock.feed(me, object())  # start at t=0
    clock.schedule(me, MessageReceived("pong"), at=2.5)
    clock.schedule(me, MessageReceived("pong"), at=3.0)
    end = clock.run(until=100.0)
    # pings at 0, 1, 2 (timer), pong at 2.5 re-arms to 3.5, pong at 3.0 ends it (timers cancelled)
    assert [t for t, _ in sent] == [0.0, 1.0, 2.0]
    assert end == 3.0
    assert core.next_deadline() is None


def test_faulty_core_drops_and_releases_delays_through_the_kernel_timer() -> None:
    core = FaultyCore(Pinger(period=10.0), [Delay(lambda a: isinstance(a, Send), seconds=0.4)])
    core.add(Drop(lambda a: isinstance(a, Send), times=1))  # sees only what the delay let through
    actions = core.handle(object(), 0.0)
    assert StartTimer(FAULT_RELEASE_TIMER, 0.4) in actions
    assert not any(isinstance(a, Send) for a in actions)
    assert core.next_deadline() == 0.4
    assert core.due_timers(0.3) == []
    assert core.due_timers(0.4) == [FAULT_RELEASE_TIMER]
    released = core.handle(TimerExpired(FAULT_RELEASE_TIMER), 0.4)
    assert released == [Send("ping", "Ping")]  # released actions are not transformed again
    assert core.pongs == 0  # attribute look-ups reach the wrapped core


def test_simulated_clock_releases_faulty_core_delays() -> None:
    clock = SimulatedClock()
    times: list[float] = []
    core = FaultyCore(Pinger(period=10.0, limit=1), [Delay(lambda a: isinstance(a, Send), seconds=0.25)])

    def perform(actions: list[object], now: float) -> None:
        times.extend(now for a in actions if isinstance(a, Send))

    me = clock.attach(core, perform)
    clock.feed(me, object())
    clock.run(until=5.0)
    assert times == [0.25]


def test_asyncio_driver_fires_timers_and_ignores_nothing_due() -> None:
    async def main() -> tuple[list[str], int]:
        loop = asyncio.get_running_loop()
        core = Pinger(period=0.01, limit=1)
        names: list[str] = []
        done = loop.create_future()

        def perform(action: object) -> None:
            if isinstance(action, Send):
                names.append(action.name)
                if len(names) == 3:
                    driver.feed(MessageReceived("pong"))  # fed from inside perform: queued
                    done.set_result(None)

        driver = CoreDriver(core, perform, clock=loop.time)
        driver.feed(object())
        await asyncio.wait_for(done, 5.0)
        await asyncio.sleep(0.03)  # the cancelled timer must not fire again
        driver.close()
        return names, core.pongs

    names, pongs = asyncio.run(main())
    assert names == ["Ping", "Ping", "Ping"]
    assert pongs == 1


def test_timer_table_postpones_only_the_deadline_it_was_asked_about() -> None:
    table = TimerTable()
    table.start("a", 1.0)
    assert table.postpone("a", 1.0, 0.004)
    assert table.next_deadline() == pytest.approx(1.004)
    assert not table.postpone("a", 1.0, 0.004)  # already moved: not the deadline armed then
    assert not table.postpone("missing", 1.0, 0.1)
    assert not table.postpone("a", 1.004, 0.0)


def test_asyncio_driver_counts_timers_from_when_the_send_was_performed() -> None:
    """With timers_from_perform, a retry timer counts from the request on the wire, not from the
    event that made the core send it (ISO 15118-2 7.10.1: wait SDP_RESPONSE_WAIT after the request)."""

    class Clock:
        now = 100.0

        def __call__(self) -> float:
            return self.now

    async def main(from_perform: bool) -> float | None:
        clock = Clock()
        core = Pinger(period=0.25)

        def perform(action: object) -> None:
            if isinstance(action, Send):
                clock.now += 0.004  # the request takes 4 ms to reach the wire

        driver = CoreDriver(core, perform, clock=clock, timers_from_perform=from_perform)
        driver.feed(object())
        driver.close()
        return core.next_deadline()

    assert asyncio.run(main(True)) == pytest.approx(100.254)
    assert asyncio.run(main(False)) == pytest.approx(100.25)
