"""The DER oracle: windows and expected statuses per control, and judging what a client posted."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.protocol.sep2.der_events import (
    DerEngineConfig,
    DerSnapshot,
    EventState,
    SeededRandom,
    UserOptOut,
)
from harness.protocol.sep2.der_model import (
    DefaultControl,
    DerControl,
    DerProgram,
    EventStatusCode,
    ResponseStatus,
)
from harness.protocol.sep2.der_oracle import PostedResponse, Window, predict, run_engine

T0 = 1_700_000_000
POLL = 60
S = ResponseStatus
PROGRAMS = (DerProgram("P1", 1, DefaultControl("D1", {"opModMaxLimW": 10000})),)


def ctl(mrid: str, start: int, duration: int, **kw: object) -> DerControl:
    kw.setdefault("creation_time", T0 - 100)
    kw.setdefault("modes", {"opModFixedW": -5000})
    kw.setdefault("response_required", 7)
    kw.setdefault("reply_to", "/rsp")
    return DerControl(mrid, "P1", start=T0 + start, duration=duration, **kw)  # type: ignore[arg-type]


def at(offset: float, *controls: DerControl) -> tuple[float, DerSnapshot]:
    return (T0 + offset, DerSnapshot(PROGRAMS, controls))


def rel(window: Window) -> tuple[float, float]:
    return (window.earliest - T0, window.latest - T0)


def test_windows_of_one_randomized_control_are_its_randomization_bounds() -> None:
    a = ctl("A", 1000, 600, randomize_start=300, randomize_duration=-120)
    oracle = predict([at(0, a)], until=T0 + 5000, poll_period=POLL)
    expectation = oracle.expectations["A"]
    assert (
        expectation.required == expectation.allowed == {S.EVENT_RECEIVED, S.EVENT_STARTED, S.EVENT_COMPLETED}
    )
    assert rel(expectation.windows[S.EVENT_RECEIVED]) == (0, POLL)
    assert rel(expectation.windows[S.EVENT_STARTED]) == (1000, 1300)
    assert rel(expectation.windows[S.EVENT_COMPLETED]) == (1000 + 480, 1300 + 600)
    assert rel(expectation.state_windows[EventState.ACTIVE]) == (1000, 1300)
    assert expectation.final_states == {EventState.COMPLETED}
    assert oracle.runs == 2 * 5


def test_cancel_with_randomization_window_adds_the_poll_period_and_the_larger_bound() -> None:
    kw = {"randomize_start": 300, "randomize_duration": -120}
    a = ctl("A", 1000, 1800, **kw)
    cancelled = ctl("A", 1000, 1800, current_status=EventStatusCode.CANCELLED_WITH_RANDOMIZATION, **kw)
    oracle = predict([at(0, a), at(1500, cancelled)], until=T0 + 5000, poll_period=POLL)
    expectation = oracle.expectations["A"]
    assert expectation.required == {S.EVENT_RECEIVED, S.EVENT_STARTED, S.EVENT_CANCELLED}
    assert S.EVENT_COMPLETED not in expectation.allowed
    assert rel(expectation.windows[S.EVENT_CANCELLED]) == (1500, 1500 + POLL + 300)


def test_statuses_that_depend_on_the_draw_are_allowed_but_not_required() -> None:
    # OLD ends before NEW starts unless its duration is stretched: then NEW supersedes it.
    old = ctl("OLD", 1000, 400, randomize_duration=200, creation_time=T0 - 500)
    new = ctl("NEW", 1500, 600)
    oracle = predict([at(0, old, new)], until=T0 + 5000)
    expectation = oracle.expectations["OLD"]
    assert expectation.required == {S.EVENT_RECEIVED, S.EVENT_STARTED}
    assert {S.EVENT_COMPLETED, S.EVENT_SUPERSEDED} <= expectation.allowed
    assert expectation.final_states == {EventState.COMPLETED, EventState.SUPERSEDED}
    assert oracle.expectations["NEW"].required == {S.EVENT_RECEIVED, S.EVENT_STARTED, S.EVENT_COMPLETED}


def test_superseded_is_due_when_the_superseding_control_starts_not_when_it_is_learned() -> None:
    # TC_DER_I1_011's schedule: NEW (newer creationTime) is published a poll after OLD and overlaps its
    # end.  OLD runs from its start; "superseded" is due from NEW's start, not at NEW's publication.
    old = ctl("OLD", 360, 600, creation_time=T0)
    new = ctl("NEW", 600, 600, creation_time=T0 + 120)
    oracle = predict([at(0, old), at(120, old, new)], until=T0 + 3000)
    expectation = oracle.expectations["OLD"]
    assert expectation.required == {S.EVENT_RECEIVED, S.EVENT_STARTED, S.EVENT_SUPERSEDED}
    assert rel(expectation.windows[S.EVENT_SUPERSEDED])[0] == 600
    on_receipt = [
        PostedResponse("OLD", S.EVENT_RECEIVED, T0),
        PostedResponse("OLD", S.EVENT_STARTED, T0 + 360),
        PostedResponse("OLD", S.EVENT_SUPERSEDED, T0 + 120),
    ]
    (finding,) = [f for f in oracle.judge(on_receipt) if f.control == "OLD"]
    assert finding.status == S.EVENT_SUPERSEDED and "outside" in finding.reason


def test_judge_accepts_a_correct_client_and_names_each_mistake() -> None:
    a = ctl("A", 1000, 600, randomize_start=300)
    inputs = [at(0, a)]
    oracle = predict(inputs, until=T0 + 5000, poll_period=POLL)
    _, posted = run_engine(inputs, until=T0 + 5000, randomness=SeededRandom(42))
    assert oracle.judge(posted) == []
    started = next(p for p in posted if p.status == S.EVENT_STARTED)
    late = [p for p in posted if p.status != S.EVENT_STARTED] + [
        PostedResponse("A", S.EVENT_STARTED, T0 + 1400)
    ]
    (finding,) = oracle.judge(late)
    assert finding.status == S.EVENT_STARTED and "outside" in finding.reason
    assert oracle.judge(late, slack=100) == []
    missing = [p for p in posted if p is not started]
    (finding,) = oracle.judge(missing)
    assert finding.at is None and "never posted" in finding.reason
    wrong = [*posted, PostedResponse("A", S.EVENT_SUPERSEDED, T0 + 1200), PostedResponse("Z", 1, T0)]
    reasons = [f.reason for f in oracle.judge(wrong)]
    assert any("not one the schedule calls for" in reason for reason in reasons)
    assert any("never published" in reason for reason in reasons)
    assert oracle.window("A", S.EVENT_STARTED) == Window(T0 + 1000, T0 + 1300)
    assert oracle.window("Z", 1) is None


def test_opt_out_and_expiry_and_no_response_required() -> None:
    inputs = [
        at(0, ctl("A", 1000, 600), ctl("OLD", -900, 600), ctl("QUIET", 2000, 60, response_required=0)),
        (T0 + 500, UserOptOut("A")),
    ]
    oracle = predict(inputs, until=T0 + 5000, config=DerEngineConfig(server_revision=2018))
    assert oracle.expectations["A"].required == {S.EVENT_RECEIVED, S.OPTED_OUT}
    assert oracle.expectations["OLD"].required == {S.EXPIRED}
    assert oracle.expectations["QUIET"].allowed == frozenset()


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(0, 3600),
    duration=st.integers(60, 3600),
    randomize_start=st.integers(-600, 600),
    randomize_duration=st.integers(-600, 600),
    cancel=st.one_of(st.none(), st.tuples(st.integers(0, 7200), st.sampled_from([2, 3]))),
    seed=st.integers(0, 10_000),
    delay=st.integers(0, POLL),
)
def test_any_draw_of_a_lone_control_falls_inside_the_oracle_windows(
    start: int,
    duration: int,
    randomize_start: int,
    randomize_duration: int,
    cancel: tuple[int, int] | None,
    seed: int,
    delay: int,
) -> None:
    kw = {"randomize_start": randomize_start, "randomize_duration": randomize_duration}
    inputs = [at(0, ctl("A", start, duration, **kw))]
    if cancel is not None:
        when, status = cancel
        inputs.append(at(when, ctl("A", start, duration, current_status=EventStatusCode(status), **kw)))
    until = T0 + 20_000
    oracle = predict(inputs, until=until, poll_period=POLL)
    _, posted = run_engine(inputs, until=until, randomness=SeededRandom(seed), delay=delay)
    assert oracle.judge(posted) == []


@pytest.mark.parametrize(("cancel_at", "status"), [(0, 2), (1, 3), (1, 2)])
def test_a_control_ending_within_a_poll_of_publication_and_cancelled_meanwhile(
    cancel_at: int, status: int
) -> None:
    """Found by the property test above: published at T0 for 60 s with randomizeStart -1 and cancelled
    ``cancel_at`` s later, seen 59 s late.  Cancelled at the instant it was published, a poll can only show it
    cancelled; cancelled a second later, a client that saw it before its randomized end (T0 + 59) and the
    cancellation only after may answer it completed."""
    inputs = [at(0, ctl("A", 0, 60, randomize_start=-1))]
    inputs.append(at(cancel_at, ctl("A", 0, 60, randomize_start=-1, current_status=EventStatusCode(status))))
    oracle = predict(inputs, until=T0 + 20_000, poll_period=POLL)
    for seed in range(6):
        _, posted = run_engine(inputs, until=T0 + 20_000, randomness=SeededRandom(seed), delay=59)
        assert oracle.judge(posted) == [], (seed, posted)
    completed = S.EVENT_COMPLETED in oracle.expectations["A"].allowed
    assert completed == (cancel_at > 0)
