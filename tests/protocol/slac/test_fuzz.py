"""Random event sequences never crash the SLAC cores, and they never claim a match without one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.codec import homeplug as hp
from harness.codec.homeplug import decode_slac
from harness.protocol.core import LinkDown, LinkUp, MessageReceived, Send, TimerExpired
from harness.protocol.faults import Delay, Drop, Duplicate, Rewrite
from harness.protocol.slac.common import (
    Matched,
    PilotStateChanged,
    Start,
    Stop,
    frame_received,
)
from harness.protocol.slac.ev import EvSlac, EvSlacConfig, EvState
from harness.protocol.slac.evse import EvseSlac, EvseSlacConfig
from harness.protocol.slac.faults import sends, with_run_id
from harness.protocol.slac.simulation import SlacSimulation

EV = "02:00:00:00:00:01"
EVSE = "02:00:00:00:01:01"
RUN_IDS = [bytes(8), (1).to_bytes(8, "big"), (2).to_bytes(8, "big")]
TIMERS = [
    "TT_match_response",
    "TP_EV_batch_msg_interval",
    "TT_EV_atten_results",
    "TT_match_join",
    "TT_matching_rate",
    "TP_EV_vald_toggle",
    "TT_EVSE_SLAC_init",
    "TT_match_sequence",
    "TT_EVSE_match_MNBC",
    "TT_EVSE_match_session",
    "CM_VALIDATE toggle window",
]


def frame_strategy():
    run_id = st.sampled_from(RUN_IDS)
    mac = st.sampled_from([EV, EVSE, "02:00:00:00:00:09", hp.BROADCAST_MAC])
    level = st.integers(0, 255)
    return st.one_of(
        st.builds(lambda s, r: hp.encode_slac_parm_req(s, r), mac, run_id),
        st.builds(
            lambda s, r, n: hp.encode_slac_parm_cnf(s, EV, r, num_sounds=n, time_out=6),
            mac,
            run_id,
            st.sampled_from([10, 5]),
        ),
        st.builds(lambda r: hp.encode_start_atten_char_ind(EV, r, num_sounds=10, time_out=6), run_id),
        st.builds(lambda r, n: hp.encode_mnbc_sound_ind(EV, r, countdown=n), run_id, st.integers(0, 9)),
        st.builds(lambda s, a: hp.encode_atten_profile_ind(s, EV, [a] * 58), mac, level),
        st.builds(
            lambda s, r, a: hp.encode_atten_char_ind(s, EV, r, aag=[a] * 58, num_sounds=10),
            mac,
            run_id,
            level,
        ),
        st.builds(lambda r: hp.encode_atten_char_rsp(EV, EVSE, r), run_id),
        st.builds(lambda t: hp.encode_validate_req(EV, EVSE, timer=t), st.sampled_from([0, 20])),
        st.builds(
            lambda n, r: hp.encode_validate_cnf(EVSE, EV, toggle_num=n, result=r),
            st.integers(0, 3),
            st.integers(0, 4),
        ),
        st.builds(lambda r, d: hp.encode_slac_match_req(EV, d, r), run_id, st.sampled_from([EVSE, EV])),
        st.builds(lambda s, r: hp.encode_slac_match_cnf(s, EV, r, nid=bytes(7), nmk=bytes(16)), mac, run_id),
        st.builds(lambda r: hp.encode_set_key_cnf(hp.LOCAL_MODEM_MAC, EV, result=r), st.integers(0, 1)),
    )


EVENTS = st.one_of(
    st.builds(lambda f: frame_received(decode_slac(f)), frame_strategy()),
    st.builds(TimerExpired, st.sampled_from(TIMERS)),
    st.sampled_from([Start(), Stop(), LinkUp(), LinkDown(), PilotStateChanged("B"), PilotStateChanged("C")]),
)


def counter():
    values = iter(RUN_IDS[1:] + [bytes([9]) * 8] * 1000)
    return lambda: next(values)


def fresh_pair(prefix_s: float, validate: bool) -> tuple[EvSlac, EvseSlac, float]:
    """An EV and an EVSE core brought into a state of a real exchange by running it for prefix_s."""
    ev = EvSlac(EvSlacConfig(mac=EV, run_id_factory=counter(), validate=validate))
    evse = EvseSlac(
        EvseSlacConfig(mac=EVSE, key_factory=lambda: (bytes(7), bytes(16)), validate_supported=validate)
    )
    sim = SlacSimulation(ev, [(evse, [20] * 58)])
    sim.start()
    sim.run(until=prefix_s)
    return ev, evse, sim.now


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0, 3),
    st.booleans(),
    st.lists(st.tuples(EVENTS, st.floats(0, 3)), max_size=40),
)
def test_random_events_in_any_state_never_crash(prefix_s, validate, events) -> None:
    ev, evse, now = fresh_pair(prefix_s, validate)
    ev_got_cnf = ev.state in (EvState.JOINING, EvState.MATCHED)
    evse_sent_cnf = evse.state.name == "MATCHED"
    for event, step in events:
        now += step
        if isinstance(event, TimerExpired):
            # Feed expiries at their deadlines when armed, so timers fire in every state.
            now = max(
                now, ev.timers.deadlines.get(event.name, now), evse.timers.deadlines.get(event.name, now)
            )
        if isinstance(event, MessageReceived) and event.message.name == "CM_SLAC_MATCH.CNF":
            ev_got_cnf = True
        for action in ev.handle(event, now):
            if isinstance(action, Matched):
                assert ev_got_cnf
        for action in evse.handle(event, now):
            if isinstance(action, Send) and action.name == "CM_SLAC_MATCH.CNF":
                evse_sent_cnf = True
            if isinstance(action, Matched):
                assert evse_sent_cnf


MESSAGES = [
    "CM_SLAC_PARM.REQ",
    "CM_SLAC_PARM.CNF",
    "CM_START_ATTEN_CHAR.IND",
    "CM_MNBC_SOUND.IND",
    "CM_ATTEN_CHAR.IND",
    "CM_ATTEN_CHAR.RSP",
    "CM_SLAC_MATCH.REQ",
    "CM_SLAC_MATCH.CNF",
]
FAULTS = st.one_of(
    st.builds(
        lambda m, t, a: Drop(sends(m), times=t, after=a),
        st.sampled_from(MESSAGES),
        st.sampled_from([1, 2, None]),
        st.integers(0, 3),
    ),
    st.builds(
        lambda m, d: Delay(sends(m), times=1, seconds=d), st.sampled_from(MESSAGES), st.floats(0.0, 2.0)
    ),
    st.builds(lambda m: Duplicate(sends(m), times=None), st.sampled_from(MESSAGES)),
    st.builds(
        lambda m: Rewrite(sends(m), times=1, rewrite=with_run_id(bytes([7]) * 8)), st.sampled_from(MESSAGES)
    ),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(10, 60), min_size=1, max_size=3),
    st.lists(st.tuples(st.booleans(), FAULTS), max_size=3),
    st.booleans(),
)
def test_faulty_exchanges_end_in_a_consistent_verdict(levels, faults, validate) -> None:
    ev = EvSlac(EvSlacConfig(mac=EV, run_id_factory=counter(), validate=validate))
    evses = [
        (
            EvseSlac(
                EvseSlacConfig(
                    mac=f"02:00:00:00:01:{i:02x}",
                    key_factory=lambda i=i: (bytes([i]) * 7, bytes([i]) * 16),
                    validate_supported=validate,
                )
            ),
            [level] * 58,
        )
        for i, level in enumerate(levels, start=1)
    ]
    sim = SlacSimulation(ev, evses)
    for on_ev, fault in faults:
        (sim.ev if on_ev else sim.evses[0]).injector.add(fault)
    sim.start()
    sim.run(until=80.0)
    # Every run ends: matched or given up, never stuck half-way.
    assert ev.state in (EvState.MATCHED, EvState.FAILED)
    if ev.state is EvState.MATCHED:
        assert ev.matched is not None
        peer = next(s for s in sim.evses if s.mac == ev.matched.peer)
        evse_matches = [a for _, a in sim.actions(peer.name, Matched)]
        assert evse_matches and evse_matches[-1].nmk == ev.matched.nmk
        assert evse_matches[-1].run_id == ev.matched.run_id
        assert sim.ev.link_up
