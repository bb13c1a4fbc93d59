"""The IEEE 2030.5 DER event engine, rule by rule, on the simulated clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from harness.protocol.core import CancelTimer, MessageReceived, Send, StartTimer, TimerExpired
from harness.protocol.sep2.der_events import (
    END_TIMER_PREFIX,
    RESPONSE_NAME,
    START_TIMER_PREFIX,
    ApplyModes,
    BoundOffsets,
    CommunicationLost,
    CommunicationRestored,
    DerEngineConfig,
    DerEventEngine,
    DerSnapshot,
    EventState,
    RandomSource,
    SeededRandom,
    UserOptIn,
    UserOptOut,
)
from harness.protocol.sep2.der_model import (
    DefaultControl,
    DerControl,
    DerControlResponse,
    DerProgram,
    EventStatusCode,
    ResponseRequired,
    ResponseStatus,
)
from harness.protocol.simclock import SimulatedClock

T0 = 1_700_000_000  # server time at the start of every test: tests never read a clock
ALL = ResponseRequired.MESSAGE_RECEIVED | ResponseRequired.SPECIFIC_RESPONSE | ResponseRequired.USER_RESPONSE
S = ResponseStatus
DEFAULT_LIMIT = 10000  # opModMaxLimW 100 % when no event applies


def program(mrid: str = "P1", primacy: int = 1, default: dict[str, Any] | None = None) -> DerProgram:
    modes = {"opModMaxLimW": DEFAULT_LIMIT} if default is None else default
    return DerProgram(mrid, primacy, DefaultControl(f"D-{mrid}", modes) if modes else None)


def control(mrid: str, start: int, duration: int = 600, **kw: Any) -> DerControl:
    kw.setdefault("program", "P1")
    kw.setdefault("creation_time", T0 - 100)
    kw.setdefault("modes", {"opModFixedW": -5000})
    kw.setdefault("response_required", ALL)
    kw.setdefault("reply_to", "/rsps/1/rsp")
    return DerControl(mrid=mrid, start=T0 + start, duration=duration, **kw)


@dataclass
class Sim:
    """One engine on the simulated clock, with what it sent and every ApplyModes it emitted."""

    engine: DerEventEngine
    clock: SimulatedClock = field(default_factory=lambda: SimulatedClock(now=T0))
    responses: list[tuple[float, DerControlResponse]] = field(default_factory=list)
    applied: list[tuple[float, ApplyModes]] = field(default_factory=list)
    actions: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.handle = self.clock.attach(self.engine, self._perform)

    def _perform(self, actions: list[Any], now: float) -> None:
        self.actions.extend(actions)
        for action in actions:
            if isinstance(action, Send):
                assert action.name == RESPONSE_NAME
                assert action.destination == action.message.reply_to
                self.responses.append((now, action.message))
            elif isinstance(action, ApplyModes):
                self.applied.append((now, action))

    def at(self, offset: float, event: Any) -> None:
        self.clock.schedule(self.handle, event, T0 + offset)

    def run(self, until: float) -> None:
        self.clock.run(until=T0 + until)

    def statuses(self, mrid: str) -> list[tuple[float, int]]:
        return [(when - T0, int(r.status)) for when, r in self.responses if r.subject == mrid]

    def mode(self, name: str) -> Any:
        applied = self.engine.applied.get(name)
        return None if applied is None else (applied.value, applied.source)


def sim(randomness: RandomSource | None = None, **config: Any) -> Sim:
    return Sim(DerEventEngine(DerEngineConfig(**config), randomness))


def snapshot(*controls: DerControl, programs: tuple[DerProgram, ...] | None = None) -> DerSnapshot:
    return DerSnapshot(programs if programs is not None else (program(),), controls)


def test_scheduled_event_is_received_started_completed_and_default_resumes() -> None:
    s = sim()
    s.at(0, snapshot(control("A", 100)))
    s.run(99)
    assert s.mode("opModMaxLimW") == (DEFAULT_LIMIT, "D-P1")
    assert s.mode("opModFixedW") is None
    assert s.engine.state_of("A") == EventState.SCHEDULED
    s.run(100)
    assert s.mode("opModFixedW") == (-5000, "A")
    assert s.engine.state_of("A") == EventState.ACTIVE
    s.run(2000)
    assert s.statuses("A") == [(0, S.EVENT_RECEIVED), (100, S.EVENT_STARTED), (700, S.EVENT_COMPLETED)]
    assert s.engine.state_of("A") == EventState.COMPLETED
    assert s.mode("opModFixedW") is None
    assert [when - T0 for when, _ in s.applied] == [0, 100, 700]


def test_response_required_zero_means_no_post_but_the_event_still_applies() -> None:
    s = sim()
    s.at(0, snapshot(control("A", 100, response_required=0)))
    s.run(150)
    assert s.mode("opModFixedW") == (-5000, "A")
    s.run(2000)
    assert s.responses == []


def test_each_bit_allows_only_its_statuses() -> None:
    s = sim()
    received_only = control("R", 100, response_required=ResponseRequired.MESSAGE_RECEIVED)
    specific_only = control(
        "X", 100, response_required=ResponseRequired.SPECIFIC_RESPONSE, modes={"opModConnect": True}
    )
    user_only = control("U", 100, response_required=ResponseRequired.USER_RESPONSE, modes={"opModMaxLimW": 1})
    s.at(0, snapshot(received_only, specific_only, user_only))
    s.at(200, UserOptOut("U"))
    s.at(250, UserOptOut("X"))
    s.run(2000)
    assert s.statuses("R") == [(0, S.EVENT_RECEIVED)]
    # X's user opted out at 250: no opt-out answer (bit 2 clear) and no completed (not participating).
    assert s.statuses("X") == [(100, S.EVENT_STARTED)]
    assert s.statuses("U") == [(200, S.OPTED_OUT)]


def test_no_reply_to_means_nowhere_to_post() -> None:
    s = sim()
    s.at(0, snapshot(control("A", 100, reply_to=None)))
    s.run(2000)
    assert s.responses == [] and s.engine.state_of("A") == EventState.COMPLETED


@pytest.mark.parametrize(
    ("which", "randomize_start", "start"),
    [("high", 300, 400), ("low", 300, 100), ("high", -60, 100), ("low", -60, 40)],
)
def test_randomized_start_uses_the_injected_offset(which: str, randomize_start: int, start: int) -> None:
    s = sim(BoundOffsets(which))
    s.at(0, snapshot(control("A", 100, randomize_start=randomize_start)))
    s.run(3000)
    assert s.statuses("A") == [
        (0, S.EVENT_RECEIVED),
        (start, S.EVENT_STARTED),
        (start + 600, S.EVENT_COMPLETED),
    ]


def test_randomized_start_in_the_past_starts_at_once() -> None:
    s = sim(BoundOffsets("low"))
    s.at(0, snapshot(control("A", 100, randomize_start=-300)))
    s.run(3000)
    # Effective start T0-200: already due when received, so the event starts at once and ends at 400.
    assert s.statuses("A") == [(0, S.EVENT_RECEIVED), (0, S.EVENT_STARTED), (400, S.EVENT_COMPLETED)]


def test_randomized_duration_stretches_or_shortens_the_event() -> None:
    longer, shorter = sim(BoundOffsets("high")), sim(BoundOffsets("low"))
    for s, stretch in ((longer, 120), (shorter, -120)):
        s.at(0, snapshot(control("A", 100, randomize_duration=stretch)))
        s.run(3000)
    assert longer.statuses("A")[-1] == (820, S.EVENT_COMPLETED)
    assert shorter.statuses("A")[-1] == (580, S.EVENT_COMPLETED)


def test_seeded_randomness_is_repeatable_and_within_bounds() -> None:
    draws = {SeededRandom(7).offset(f"C{i}", "start", -600) for i in range(50)}
    assert all(-600 <= d <= 0 for d in draws) and len(draws) > 10
    assert SeededRandom(7).offset("C1", "start", 600) == SeededRandom(7).offset("C1", "start", 600)
    assert SeededRandom(7).offset("C1", "start", 0) == 0
    starts = []
    for _ in range(2):
        s = sim(SeededRandom(3))
        s.at(0, snapshot(control("A", 100, randomize_start=900)))
        s.run(3000)
        starts.append(s.statuses("A")[1][0])
    assert starts[0] == starts[1] and 100 <= starts[0] <= 1000


def test_a_known_overlap_does_not_keep_the_older_control_from_starting() -> None:
    # Known from the start that NEW overlaps OLD: OLD still runs from its own start to NEW's, and is
    # superseded then (sep.xsd EventStatus 1: active "even if the event is known to be overlapped").
    s = sim()
    old = control("OLD", 100, 600, creation_time=T0 - 200)
    new = control("NEW", 300, 600, creation_time=T0 - 100, modes={"opModFixedW": -2000})
    s.at(0, snapshot(old, new))
    s.run(200)
    assert s.mode("opModFixedW") == (-5000, "OLD")
    s.run(3000)
    assert s.statuses("OLD") == [(0, S.EVENT_RECEIVED), (100, S.EVENT_STARTED), (300, S.EVENT_SUPERSEDED)]
    assert s.statuses("NEW") == [(0, S.EVENT_RECEIVED), (300, S.EVENT_STARTED), (900, S.EVENT_COMPLETED)]
    assert [(t.at - T0, t.state) for t in s.engine.records["OLD"].history][-1] == (300, EventState.SUPERSEDED)


def test_a_control_starting_under_an_active_superior_is_superseded_at_its_start() -> None:
    s = sim()
    new = control("NEW", 100, 600, creation_time=T0 - 100)
    old = control("OLD", 300, 600, creation_time=T0 - 200, modes={"opModFixedW": -2000})
    s.at(0, snapshot(old, new))
    s.run(3000)
    assert s.statuses("OLD") == [(0, S.EVENT_RECEIVED), (300, S.EVENT_SUPERSEDED)]
    assert s.statuses("NEW")[1:] == [(100, S.EVENT_STARTED), (700, S.EVENT_COMPLETED)]


def test_a_newer_control_arriving_later_supersedes_the_active_one_when_it_starts() -> None:
    s = sim()
    old = control("OLD", 100, 1000, creation_time=T0 - 200)
    new = control("NEW", 500, 200, creation_time=T0 + 200, modes={"opModFixedW": -1000})
    s.at(0, snapshot(old))
    s.at(200, snapshot(old, new))
    s.run(400)
    assert s.mode("opModFixedW") == (-5000, "OLD")
    s.run(3000)
    assert s.statuses("OLD") == [(0, S.EVENT_RECEIVED), (100, S.EVENT_STARTED), (500, S.EVENT_SUPERSEDED)]
    assert s.statuses("NEW")[1:] == [(500, S.EVENT_STARTED), (700, S.EVENT_COMPLETED)]
    # After the superseding event the default applies again: the superseded one does not come back.
    assert s.mode("opModFixedW") is None


def test_lower_primacy_value_wins_across_programs_even_when_older() -> None:
    programs = (program("UTIL", 1), program("SITE", 2, default={"opModMaxLimW": 5000}))
    s = sim()
    utility = control("U", 100, 600, program="UTIL", creation_time=T0 - 900)
    site = control("B", 50, 600, program="SITE", creation_time=T0 - 10, modes={"opModFixedW": 3000})
    s.at(0, snapshot(utility, site, programs=programs))
    s.run(3000)
    assert s.statuses("B") == [(0, S.EVENT_RECEIVED), (50, S.EVENT_STARTED), (100, S.EVENT_SUPERSEDED)]
    assert s.statuses("U")[1:] == [(100, S.EVENT_STARTED), (700, S.EVENT_COMPLETED)]
    # The default of the higher-primacy program wins too.
    assert s.mode("opModMaxLimW") == (DEFAULT_LIMIT, "D-UTIL")


def test_overlapping_controls_of_different_modes_both_apply() -> None:
    s = sim()
    s.at(0, snapshot(control("W", 100), control("L", 100, modes={"opModMaxLimW": 2500})))
    s.run(200)
    assert s.mode("opModFixedW") == (-5000, "W")
    assert s.mode("opModMaxLimW") == (2500, "L")
    assert s.engine.active_by_mode() == {"opModFixedW": frozenset({"W"}), "opModMaxLimW": frozenset({"L"})}


def test_cancelled_active_event_stops_at_once() -> None:
    s = sim()
    a = control("A", 100)
    s.at(0, snapshot(a))
    s.at(300, snapshot(control("A", 100, current_status=EventStatusCode.CANCELLED)))
    s.run(3000)
    assert s.statuses("A") == [(0, S.EVENT_RECEIVED), (100, S.EVENT_STARTED), (300, S.EVENT_CANCELLED)]
    assert s.engine.state_of("A") == EventState.CANCELLED
    assert s.mode("opModFixedW") is None


def test_cancelled_scheduled_event_never_starts() -> None:
    s = sim()
    s.at(0, snapshot(control("A", 100)))
    s.at(50, snapshot(control("A", 100, current_status=EventStatusCode.CANCELLED_WITH_RANDOMIZATION)))
    s.run(3000)
    assert s.statuses("A") == [(0, S.EVENT_RECEIVED), (50, S.EVENT_CANCELLED)]
    assert s.engine.state_of("A") == EventState.CANCELLED_WITH_RANDOMIZATION


@pytest.mark.parametrize(("which", "stop"), [("low", 300), ("high", 300 + 240)])
def test_cancel_with_randomization_ends_within_the_larger_randomization(which: str, stop: int) -> None:
    s = sim(BoundOffsets(which))
    kw = {"randomize_start": -60, "randomize_duration": 240}
    s.at(0, snapshot(control("A", 100, 2000, **kw)))
    s.at(
        300,
        snapshot(control("A", 100, 2000, current_status=EventStatusCode.CANCELLED_WITH_RANDOMIZATION, **kw)),
    )
    s.run(5000)
    start = 100 - 60 if which == "low" else 100
    assert s.statuses("A") == [(0, S.EVENT_RECEIVED), (start, S.EVENT_STARTED), (stop, S.EVENT_CANCELLED)]
    assert s.engine.state_of("A") == EventState.CANCELLED_WITH_RANDOMIZATION


def test_control_that_disappears_is_treated_as_cancelled() -> None:
    s = sim()
    s.at(0, snapshot(control("A", 100), control("B", 1000, modes={"opModMaxLimW": 1})))
    s.at(200, snapshot(control("B", 1000, modes={"opModMaxLimW": 1})))
    s.run(3000)
    assert s.statuses("A")[-1] == (200, S.EVENT_CANCELLED)
    assert s.engine.state_of("A") == EventState.CANCELLED
    assert s.engine.state_of("B") == EventState.COMPLETED


def test_event_already_over_when_first_seen_is_expired_and_never_applied() -> None:
    s = sim()
    s.at(0, snapshot(control("A", -1000, 600, randomize_duration=900)))
    s.run(3000)
    assert s.statuses("A") == [(0, S.EXPIRED)]
    assert s.engine.state_of("A") == EventState.EXPIRED
    assert all("opModFixedW" not in a.modes for _, a in s.applied)


def test_event_in_progress_when_first_seen_starts_at_once() -> None:
    s = sim()
    s.at(0, snapshot(control("A", -100, 600)))
    s.run(3000)
    assert s.statuses("A") == [(0, S.EVENT_RECEIVED), (0, S.EVENT_STARTED), (500, S.EVENT_COMPLETED)]


@pytest.mark.parametrize(("revision", "code"), [(2023, S.NOT_SUPPORTED), (2018, S.NOT_APPLICABLE)])
def test_unsupported_modes_are_answered_by_server_revision(revision: int, code: S) -> None:
    s = sim(modes_supported=frozenset({"opModMaxLimW", "opModFixedW"}), server_revision=revision)
    s.at(0, snapshot(control("V", 100, modes={"opModVoltVar": "/dcrv/1"})))
    mixed = control("M", 100, modes={"opModFixedW": -5000, "opModFreqWatt": "/dcrv/2"})
    s.at(10, snapshot(control("V", 100, modes={"opModVoltVar": "/dcrv/1"}), mixed))
    s.run(3000)
    assert s.statuses("V") == [(0, code)]
    assert s.engine.state_of("V") == EventState.NOT_SUPPORTED
    m = [r for _, r in s.responses if r.subject == "M"]
    assert [(int(r.status), r.modes) for r in m[:2]] == [
        (S.EVENT_RECEIVED, frozenset({"opModFixedW", "opModFreqWatt"})),
        (code, frozenset({"opModFreqWatt"})),
    ]
    assert int(m[2].status) == S.EVENT_STARTED and m[2].modes == frozenset({"opModFixedW"})


def test_unsupported_default_modes_are_not_applied() -> None:
    s = sim(modes_supported=frozenset({"opModFixedW"}))
    s.at(0, snapshot())
    s.run(10)
    assert s.engine.applied == {}


@pytest.mark.parametrize("keep", [False, True])
def test_communication_loss_falls_back_to_the_default(keep: bool) -> None:
    s = sim(events_continue_on_comm_loss=keep)
    s.at(0, snapshot(control("A", 100, modes={"opModMaxLimW": 3000})))
    s.at(200, CommunicationLost())
    s.at(400, CommunicationRestored())
    s.run(150)
    assert s.mode("opModMaxLimW") == (3000, "A")
    s.run(250)
    assert s.mode("opModMaxLimW") == ((3000, "A") if keep else (DEFAULT_LIMIT, "D-P1"))
    s.run(450)
    assert s.mode("opModMaxLimW") == (3000, "A")
    s.run(3000)
    # The event keeps its timeline meanwhile: it completes at its own end.
    assert s.statuses("A")[-1] == (700, S.EVENT_COMPLETED)


def test_full_opt_out_before_start_keeps_the_default_and_posts_no_start() -> None:
    s = sim()
    s.at(0, snapshot(control("A", 100)))
    s.at(50, UserOptOut("A"))
    s.run(3000)
    assert s.statuses("A") == [(0, S.EVENT_RECEIVED), (50, S.OPTED_OUT)]
    assert s.engine.state_of("A") == EventState.COMPLETED
    assert all("opModFixedW" not in a.modes for _, a in s.applied)


def test_partial_opt_out_then_opt_in() -> None:
    s = sim()
    both = {"opModFixedW": -5000, "opModMaxLimW": 4000}
    s.at(0, snapshot(control("A", 100, modes=both)))
    s.at(200, UserOptOut("A", frozenset({"opModMaxLimW"})))
    s.at(300, UserOptIn("A"))
    s.run(250)
    assert s.mode("opModFixedW") == (-5000, "A")
    assert s.mode("opModMaxLimW") == (DEFAULT_LIMIT, "D-P1")
    s.run(3000)
    assert s.statuses("A") == [
        (0, S.EVENT_RECEIVED),
        (100, S.EVENT_STARTED),
        (200, S.PARTIAL_OPT_OUT),
        (300, S.OPTED_IN),
        (700, S.EVENT_COMPLETED),
    ]


def test_opt_out_of_an_unknown_or_finished_control_is_ignored() -> None:
    s = sim()
    s.at(0, snapshot(control("A", 100, 100)))
    s.at(10, UserOptOut("nope"))
    s.at(500, UserOptOut("A"))
    s.run(3000)
    assert [status for _, status in s.statuses("A")] == [S.EVENT_RECEIVED, S.EVENT_STARTED, S.EVENT_COMPLETED]


def test_server_status_superseded_is_honoured() -> None:
    s = sim()
    s.at(0, snapshot(control("A", 100)))
    s.at(200, snapshot(control("A", 100, current_status=EventStatusCode.SUPERSEDED)))
    s.run(3000)
    assert s.statuses("A")[-1] == (200, S.EVENT_SUPERSEDED)


def test_control_cancelled_before_first_seen_is_received_then_cancelled() -> None:
    s = sim()
    s.at(0, snapshot(control("A", 100, current_status=EventStatusCode.CANCELLED)))
    s.run(3000)
    assert s.statuses("A") == [(0, S.EVENT_RECEIVED), (0, S.EVENT_CANCELLED)]
    assert [t.state for t in s.engine.records["A"].history] == [EventState.CANCELLED]


def test_timers_one_per_start_and_end_and_stale_expiry_is_ignored() -> None:
    engine = DerEventEngine()
    actions = engine.handle(snapshot(control("A", 100)), T0)
    assert StartTimer(START_TIMER_PREFIX + "A", T0 + 100) in actions
    assert engine.next_deadline() == T0 + 100
    engine.handle(snapshot(control("A", 100, current_status=EventStatusCode.CANCELLED)), T0 + 10)
    assert engine.next_deadline() is None
    assert engine.handle(TimerExpired(START_TIMER_PREFIX + "A"), T0 + 100) == []
    # A fresh control: its start timer fires and arms the end timer.
    engine.handle(snapshot(control("B", 100)), T0 + 20)
    fired = engine.handle(TimerExpired(START_TIMER_PREFIX + "B"), T0 + 100)
    assert StartTimer(END_TIMER_PREFIX + "B", T0 + 700) in fired
    ended = engine.handle(TimerExpired(END_TIMER_PREFIX + "B"), T0 + 700)
    assert not any(isinstance(a, (StartTimer, CancelTimer)) for a in ended)
    assert engine.state_of("B") == EventState.COMPLETED


def test_clock_offset_maps_server_time_onto_the_driver_clock() -> None:
    offset = T0 - 1000.0  # the driver's clock reads 1000 at server time T0
    engine = DerEventEngine(DerEngineConfig(clock_offset=offset))
    engine.handle(MessageReceived(snapshot(control("A", 100))), 1000.0)
    assert engine.next_deadline() == 1100.0
    sends = [a for a in engine.handle(TimerExpired(START_TIMER_PREFIX + "A"), 1100.0) if isinstance(a, Send)]
    assert sends[0].message.created_date_time == T0 + 100


def test_apply_modes_carries_ramp_and_source_program() -> None:
    s = sim()
    s.at(0, snapshot(control("A", 100, modes={"opModFixedW": -5000}, ramp_tms=1500)))
    s.run(100)
    applied = s.engine.applied["opModFixedW"]
    assert (applied.ramp_tms, applied.program, applied.from_default) == (1500, "P1", False)
    assert s.engine.applied["opModMaxLimW"].from_default


def test_unknown_events_are_ignored() -> None:
    assert DerEventEngine().handle(object(), T0) == []


def test_same_instant_end_and_start_never_overlap() -> None:
    s = sim()
    first = control("F", 100, 200, creation_time=T0 - 10)  # the newer one ends exactly when the older starts
    second = control("S", 300, 200, creation_time=T0 - 50)
    s.at(0, snapshot(first, second))
    s.run(3000)
    assert s.statuses("F")[-1] == (300, S.EVENT_COMPLETED)
    assert s.statuses("S")[1:] == [(300, S.EVENT_STARTED), (500, S.EVENT_COMPLETED)]


def test_a_primacy_change_between_polls_reorders_the_programs() -> None:
    s = sim()
    a = control("A", 100, 600, program="P1", creation_time=T0 - 10)
    b = control("B", 100, 600, program="P2", creation_time=T0 - 900, modes={"opModFixedW": 1000})
    s.at(0, snapshot(a, b, programs=(program("P1", 1), program("P2", 2))))
    s.at(50, snapshot(a, b, programs=(program("P1", 3), program("P2", 2))))
    s.run(3000)
    assert s.statuses("A")[-1] == (100, S.EVENT_SUPERSEDED)
    assert s.statuses("B")[1:] == [(100, S.EVENT_STARTED), (700, S.EVENT_COMPLETED)]


def test_randomized_cancel_of_a_control_that_ends_first_still_ends_as_cancelled() -> None:
    s = sim(BoundOffsets("high"))
    kw = {"randomize_duration": 900}
    s.at(0, snapshot(control("A", 100, 600, **kw)))
    s.at(
        1500,
        snapshot(control("A", 100, 600, current_status=EventStatusCode.CANCELLED_WITH_RANDOMIZATION, **kw)),
    )
    s.run(5000)
    # Effective end 100 + 600 + 900 = 1600; the randomized cancellation (1500 + 900) would come later.
    assert s.statuses("A")[-1] == (1600, S.EVENT_CANCELLED)
    assert s.engine.state_of("A") == EventState.CANCELLED_WITH_RANDOMIZATION


def test_no_randomization_by_default() -> None:
    assert BoundOffsets().offset("A", "start", 900) == 0
    s = sim()
    s.at(0, snapshot(control("A", 100, randomize_start=900, randomize_duration=-300)))
    s.run(3000)
    assert s.statuses("A")[1:] == [(100, S.EVENT_STARTED), (700, S.EVENT_COMPLETED)]
