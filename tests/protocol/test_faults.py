"""Generic fault injection on action lists (harness.protocol.faults)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.protocol.faults import Delay, Drop, Duplicate, FaultInjector, Rewrite


@dataclass(frozen=True)
class Send:
    what: str
    session: int = 1


def is_send(what: str):
    return lambda action: isinstance(action, Send) and action.what == what


def test_untouched_actions_pass_in_order() -> None:
    injector = FaultInjector([Drop(is_send("x"))])
    actions = [Send("a"), "timer", Send("b")]
    assert injector.transform(actions, 0.0) == actions


def test_drop_respects_after_and_times() -> None:
    injector = FaultInjector([Drop(is_send("a"), after=1, times=2)])
    out = [injector.transform([Send("a", n)], float(n)) for n in range(5)]
    assert out == [[Send("a", 0)], [], [], [Send("a", 3)], [Send("a", 4)]]


def test_drop_every_time_with_times_none() -> None:
    injector = FaultInjector([Drop(is_send("a"), times=None)])
    assert all(injector.transform([Send("a")], t) == [] for t in range(10))


def test_delay_holds_back_until_released() -> None:
    injector = FaultInjector([Delay(is_send("a"), seconds=0.5, times=None)])
    assert injector.transform([Send("a", 1), Send("b")], 1.0) == [Send("b")]
    assert injector.transform([Send("a", 2)], 1.2) == []
    assert injector.next_release() == 1.5
    assert injector.release(1.49) == []
    assert injector.release(1.5) == [Send("a", 1)]
    assert injector.release(2.0) == [Send("a", 2)]
    assert injector.next_release() is None


def test_rewrite_models_a_wrong_session_id() -> None:
    injector = FaultInjector([Rewrite(is_send("a"), rewrite=lambda s: Send(s.what, 99))])
    assert injector.transform([Send("a")], 0.0) == [Send("a", 99)]
    assert injector.transform([Send("a")], 0.0) == [Send("a")]  # times=1 by default


def test_faults_apply_in_order_and_dropped_actions_are_not_seen_later() -> None:
    duplicate = Duplicate(is_send("a"))
    drop = Drop(is_send("a"), times=None)
    injector = FaultInjector([drop, duplicate])
    assert injector.transform([Send("a")], 0.0) == []
    assert duplicate.seen == 0
    injector = FaultInjector(
        [Duplicate(is_send("a")), Rewrite(is_send("a"), times=None, rewrite=lambda s: Send("r"))]
    )
    assert injector.transform([Send("a")], 0.0) == [Send("r"), Send("r")]


def test_log_records_each_application() -> None:
    injector = FaultInjector()
    injector.add(Drop(is_send("a")))
    injector.transform([Send("a"), Send("b")], 3.0)
    assert injector.log == [(3.0, "Drop", Send("a"))]
