"""Properties of the DER event engine over random schedules (hypothesis).

Several programs with and without defaults, overlapping controls sharing modes, random randomization,
cancellations (status 2, status 3, disappearing), late publication, opt-outs and a communication loss.
Whatever the schedule: no two active controls ever apply the same mode; every control ends in exactly
one terminal state; a response goes out only when its responseRequired bit is set; every applied
mode comes from an active control or a default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.protocol.core import Send
from harness.protocol.sep2.der_events import (
    TERMINAL_STATES,
    ApplyModes,
    CommunicationLost,
    CommunicationRestored,
    DerEngineConfig,
    DerEventEngine,
    DerSnapshot,
    EventState,
    SeededRandom,
    UserOptIn,
    UserOptOut,
)
from harness.protocol.sep2.der_model import DefaultControl, DerControl, DerProgram, EventStatusCode
from harness.protocol.simclock import SimulatedClock

T0 = 1_700_000_000
HORIZON = 4 * 3600
MODES = ("opModFixedW", "opModMaxLimW", "opModConnect", "opModVoltVar")
# Written out independently of der_model.RESPONSE_BITS: status -> the responseRequired bits allowing it.
BITS = {1: 0b001, 2: 0b010, 3: 0b010, 6: 0b010, 7: 0b010, 4: 0b100, 5: 0b100, 8: 0b100, 9: 0b100}
REJECTIONS = {251, 252, 253, 254}


@dataclass(frozen=True)
class Plan:
    control: DerControl
    published: int
    change: tuple[int, str] | None  # (when, "cancel" | "cancel-randomized" | "remove")
    opt: tuple[int, frozenset[str] | None, bool] | None  # (when, modes, opt back in later)


programs_st = st.lists(
    st.tuples(st.integers(0, 3), st.frozensets(st.sampled_from(MODES), max_size=2)), min_size=1, max_size=3
)


@st.composite
def plans(draw: st.DrawFn, program_count: int) -> Plan:
    index = draw(st.integers(0, 10_000))
    modes = draw(st.frozensets(st.sampled_from(MODES), min_size=1, max_size=3))
    control = DerControl(
        mrid=f"C{index:05d}",
        program=f"P{draw(st.integers(0, program_count - 1))}",
        creation_time=T0 - draw(st.integers(0, 3600)),
        start=T0 + draw(st.integers(-1800, HORIZON)),
        duration=draw(st.integers(1, 3600)),
        modes={mode: i for i, mode in enumerate(sorted(modes))},
        randomize_start=draw(st.integers(-900, 900)),
        randomize_duration=draw(st.integers(-900, 900)),
        response_required=draw(st.integers(0, 7)),  # type: ignore[arg-type]
        reply_to="/rsp",
    )
    change = draw(
        st.one_of(
            st.none(),
            st.tuples(st.integers(0, HORIZON), st.sampled_from(["cancel", "cancel-randomized", "remove"])),
        )
    )
    opt = draw(
        st.one_of(
            st.none(),
            st.tuples(
                st.integers(0, HORIZON),
                st.one_of(st.none(), st.frozensets(st.sampled_from(sorted(modes)), min_size=1)),
                st.booleans(),
            ),
        )
    )
    return Plan(control, draw(st.integers(0, HORIZON // 2)), change, opt)


@st.composite
def schedules(draw: st.DrawFn) -> tuple[tuple[DerProgram, ...], list[Plan]]:
    specs = draw(programs_st)
    programs = tuple(
        DerProgram(
            f"P{i}",
            primacy,
            DefaultControl(f"D{i}", {mode: 100 + i for mode in default}) if default else None,
        )
        for i, (primacy, default) in enumerate(specs)
    )
    found = draw(st.lists(plans(len(programs)), min_size=1, max_size=12, unique_by=lambda p: p.control.mrid))
    return programs, found


def snapshot_at(programs: tuple[DerProgram, ...], schedule: list[Plan], when: int) -> DerSnapshot:
    controls = []
    for plan in schedule:
        if plan.published > when:
            continue
        control = plan.control
        if plan.change is not None and plan.change[0] <= when:
            if plan.change[1] == "remove":
                continue
            status = (
                EventStatusCode.CANCELLED
                if plan.change[1] == "cancel"
                else EventStatusCode.CANCELLED_WITH_RANDOMIZATION
            )
            control = DerControl(**{**_fields(control), "current_status": status})
        controls.append(control)
    return DerSnapshot(programs, tuple(controls))


def _fields(control: DerControl) -> dict[str, Any]:
    return {name: getattr(control, name) for name in DerControl.__dataclass_fields__}


class Checker:
    """Runs one schedule on the simulated clock and checks the invariants after every action batch."""

    def __init__(self, engine: DerEventEngine) -> None:
        self.engine = engine
        self.sent: list[tuple[float, Any]] = []

    def perform(self, actions: list[Any], now: float) -> None:
        engine = self.engine
        for mode, owners in engine.active_by_mode().items():
            assert len(owners) <= 1, f"{mode} applied by {sorted(owners)} at {now - T0}"
        for action in actions:
            if isinstance(action, Send):
                response = action.message
                required = int(engine.records[response.subject].control.response_required)
                status = int(response.status)
                allowed = required != 0 if status in REJECTIONS else bool(required & BITS[status])
                assert allowed, f"status {status} posted for responseRequired {required:03b}"
                self.sent.append((now, response))
            elif isinstance(action, ApplyModes):
                supported = engine.config.modes_supported
                assert supported is None or set(action.modes) <= supported
                for mode, applied in action.modes.items():
                    if applied.from_default:
                        assert any(
                            p.default and p.default.mrid == applied.source for p in engine.programs.values()
                        )
                    else:
                        record = engine.records[applied.source]
                        assert record.state == EventState.ACTIVE and mode in record.modes
                        assert mode not in record.opted_out


@settings(max_examples=150, deadline=None)
@given(
    schedule=schedules(),
    seed=st.integers(0, 2**16),
    comm_loss=st.one_of(st.none(), st.tuples(st.integers(0, HORIZON), st.integers(1, 3600))),
    keep_schedule=st.booleans(),
    supported=st.one_of(st.none(), st.frozensets(st.sampled_from(MODES))),
)
def test_random_schedules_keep_the_invariants(
    schedule: tuple[tuple[DerProgram, ...], list[Plan]],
    seed: int,
    comm_loss: tuple[int, int] | None,
    keep_schedule: bool,
    supported: frozenset[str] | None,
) -> None:
    programs, plans_ = schedule
    config = DerEngineConfig(events_continue_on_comm_loss=keep_schedule, modes_supported=supported)
    engine = DerEventEngine(config, SeededRandom(seed))
    checker = Checker(engine)
    clock = SimulatedClock(now=T0)
    handle = clock.attach(engine, checker.perform)
    moments = {0} | {p.published for p in plans_} | {p.change[0] for p in plans_ if p.change}
    published: set[str] = set()
    for when in sorted(moments):
        snapshot = snapshot_at(programs, plans_, when)
        published |= {control.mrid for control in snapshot.controls}
        clock.schedule(handle, snapshot, T0 + when)
    for plan in plans_:
        if plan.opt is not None:
            when, modes, back_in = plan.opt
            clock.schedule(handle, UserOptOut(plan.control.mrid, modes), T0 + when)
            if back_in:
                clock.schedule(handle, UserOptIn(plan.control.mrid), T0 + when + 300)
    if comm_loss is not None:
        clock.schedule(handle, CommunicationLost(), T0 + comm_loss[0])
        clock.schedule(handle, CommunicationRestored(), T0 + comm_loss[0] + comm_loss[1])
    clock.run(until=T0 + 3 * HORIZON)

    assert engine.next_deadline() is None
    assert set(engine.records) == published
    for record in engine.records.values():
        terminal = [t.state for t in record.history if t.state in TERMINAL_STATES]
        assert len(terminal) == 1 and record.history[-1].state == terminal[0] == record.state, record.history
        answers = [int(r.status) for _, r in checker.sent if r.subject == record.mrid]
        assert answers.count(2) <= 1
        assert sum(answers.count(s) for s in (3, 6, 7, 254)) <= 1
        if record.state == EventState.EXPIRED:
            assert EventState.ACTIVE not in {t.state for t in record.history}
    # With every control over, only defaults (if any) remain in effect.
    assert all(applied.from_default for applied in engine.applied.values())
