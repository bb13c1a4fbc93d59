"""EV core against EVSE cores, connected in memory on a virtual clock (no real time, no sockets)."""

from __future__ import annotations

import pytest

from harness.codec.homeplug import decode_slac
from harness.protocol.core import Send, StartTimer
from harness.protocol.faults import FAULT_RELEASE_TIMER, Delay, Drop, FaultInjector, Rewrite
from harness.protocol.slac import constants as c
from harness.protocol.slac.common import AttemptFailed, Ignored, LinkLost, Matched, MatchFailed
from harness.protocol.slac.ev import EvSlac, EvSlacConfig, EvState
from harness.protocol.slac.evse import EvseSlac, EvseSlacConfig, EvseState
from harness.protocol.slac.faults import sends, sets_key, with_field, with_run_id
from harness.protocol.slac.simulation import FRAME_LATENCY_S, SlacSimulation

EV = "02:00:00:00:00:01"


def make_ev(**overrides) -> EvSlac:
    counter = iter(range(1, 1000))
    return EvSlac(EvSlacConfig(mac=EV, run_id_factory=lambda: next(counter).to_bytes(8, "big"), **overrides))


def make_evse(index: int, **overrides) -> EvseSlac:
    key = (bytes([index]) * 7, bytes([index]) * 16)
    return EvseSlac(EvseSlacConfig(mac=f"02:00:00:00:01:{index:02x}", key_factory=lambda: key, **overrides))


def flat(level: int) -> list[int]:
    return [level] * 58


def bench(levels=(20,), ev: EvSlac | None = None, **evse_overrides) -> SlacSimulation:
    evses = [(make_evse(i + 1, **evse_overrides), flat(level)) for i, level in enumerate(levels)]
    sim = SlacSimulation(ev or make_ev(), evses)
    sim.start()
    return sim


def final(sim: SlacSimulation, station: str, kind: type):
    return [item for _, item in sim.actions(station, kind)]


def test_single_evse_matches_and_link_comes_up() -> None:
    sim = bench()
    sim.run(until=5.0)
    (ev_match,) = final(sim, "EV", Matched)
    (evse_match,) = final(sim, "EVSE1", Matched)
    assert ev_match.nmk == evse_match.nmk == bytes([1]) * 16
    assert ev_match.run_id == evse_match.run_id
    assert sim.ev.link_up and sim.evses[0].link_up
    names = [f.name for _, f in sim.actions("EV", Send) if isinstance(f, Send)]
    assert names == (
        ["CM_SLAC_PARM.REQ"]
        + ["CM_START_ATTEN_CHAR.IND"] * 3
        + ["CM_MNBC_SOUND.IND"] * 10
        + ["CM_ATTEN_CHAR.RSP", "CM_SLAC_MATCH.REQ"]
    )
    # The whole sequence stays inside the standard's budget: start to CM_SLAC_MATCH.CNF.
    ((cnf_time, _),) = sim.sent("EVSE1", "CM_SLAC_MATCH.CNF")
    assert cnf_time - 0.1 < c.TT_match_response + c.TT_EV_atten_results + c.TT_match_response


def test_several_evses_ev_picks_the_lowest_attenuation() -> None:
    sim = bench(levels=(35, 18, 27))
    sim.run(until=15.0)
    (ev_match,) = final(sim, "EV", Matched)
    assert ev_match.peer == "02:00:00:00:01:02" and ev_match.attenuation_db == 18
    assert (
        final(sim, "EVSE2", Matched) and not final(sim, "EVSE1", Matched) and not final(sim, "EVSE3", Matched)
    )
    # All three answered and reported; only EVSE2 got a CM_SLAC_MATCH.REQ.
    for name in ("EVSE1", "EVSE2", "EVSE3"):
        assert len(sim.sent(name, "CM_SLAC_PARM.CNF")) == 1 and len(sim.sent(name, "CM_ATTEN_CHAR.IND")) == 1
    (request,) = [f for _, f in sim.sent("EV", "CM_SLAC_MATCH.REQ")]
    assert request.destination == "02:00:00:00:01:02"
    # The others give up after TT_EVSE_match_session and wait for a new EV.
    for name in ("EVSE1", "EVSE3"):
        (failed,) = final(sim, name, AttemptFailed)
        assert "TT_EVSE_match_session" in failed.reason
    assert sim.evses[0].core.state is EvseState.WAIT_PARM_REQ


def test_evse_not_answering_parm_req_ev_retries_then_fails() -> None:
    sim = bench()
    sim.evses[0].injector.add(Drop(sends("CM_SLAC_PARM.CNF"), times=None))
    sim.run(until=30.0)
    requests = sim.sent("EV", "CM_SLAC_PARM.REQ")
    assert len(requests) == (1 + c.C_EV_match_retry) * c.C_conn_max_match
    (failed,) = final(sim, "EV", MatchFailed)
    assert "no CM_SLAC_PARM.CNF" in failed.reason and "C_EV_match_retry 2" in failed.reason
    assert len(final(sim, "EV", AttemptFailed)) == c.C_conn_max_match - 1
    times = [t for t, _ in requests[:3]]
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == pytest.approx([c.TT_match_response] * 2)


def test_wrong_run_id_is_ignored_by_the_ev() -> None:
    sim = bench()
    sim.evses[0].injector.add(Rewrite(sends("CM_SLAC_PARM.CNF"), times=None, rewrite=with_run_id(bytes(8))))
    sim.run(until=30.0)
    ignored = final(sim, "EV", Ignored)
    assert ignored and all("RunID 0000000000000000" in i.reason for i in ignored)
    assert not final(sim, "EV", Matched) and final(sim, "EV", MatchFailed)
    assert sim.ev.core.state is EvState.FAILED


def test_one_wrong_run_id_then_the_repeated_request_matches() -> None:
    sim = bench()
    sim.evses[0].injector.add(Rewrite(sends("CM_SLAC_PARM.CNF"), times=1, rewrite=with_run_id(bytes(8))))
    sim.run(until=5.0)
    assert len(sim.sent("EV", "CM_SLAC_PARM.REQ")) == 2
    assert final(sim, "EV", Matched)


def test_cnf_deviating_from_table_a2_is_rejected_by_the_ev() -> None:
    sim = bench()
    sim.evses[0].injector.add(
        Rewrite(sends("CM_SLAC_PARM.CNF"), times=None, rewrite=with_field("Time_Out", b"\x07"))
    )
    sim.run(until=30.0)
    assert any("Table A.2" in i.reason and "Time_Out 7" in i.reason for i in final(sim, "EV", Ignored))
    assert final(sim, "EV", MatchFailed)


def test_evse_never_answering_match_req() -> None:
    sim = bench()
    sim.evses[0].injector.add(Drop(sends("CM_SLAC_MATCH.CNF"), times=None))
    sim.run(until=30.0)
    reasons = [a.reason for a in final(sim, "EV", AttemptFailed)] + [
        a.reason for a in final(sim, "EV", MatchFailed)
    ]
    assert len(reasons) == c.C_conn_max_match
    assert all("no CM_SLAC_MATCH.CNF after 3 CM_SLAC_MATCH.REQ" in r for r in reasons)


def test_late_atten_char_expires_tt_ev_atten_results_and_the_next_attempt_matches() -> None:
    sim = bench()
    # The IND and both of its repetitions arrive 1.5 s late, after TT_EV_atten_results (1.2 s).
    sim.evses[0].injector.add(Delay(sends("CM_ATTEN_CHAR.IND"), times=1 + c.C_EV_match_retry, seconds=1.5))
    sim.run(until=10.0)
    (failed,) = final(sim, "EV", AttemptFailed)
    assert "TT_EV_atten_results" in failed.reason
    # The late IND of the first attempt carries the old RunID: ignored.
    assert any("RunID" in i.reason for i in final(sim, "EV", Ignored))
    (matched,) = final(sim, "EV", Matched)
    assert matched.run_id == (2).to_bytes(8, "big")


def test_key_never_reaching_the_modem_expires_tt_match_join() -> None:
    sim = bench()
    sim.ev.injector.add(Drop(sets_key(), times=1))
    sim.run(until=30.0)
    (failed,) = final(sim, "EV", AttemptFailed)
    assert "TT_match_join" in failed.reason
    ((join_failed_at, _),) = [(t, a) for t, a in sim.actions("EV", AttemptFailed)]
    ((cnf_at, _),) = sim.sent("EVSE1", "CM_SLAC_MATCH.CNF")[:1]
    assert join_failed_at - cnf_at == pytest.approx(c.TT_match_join, abs=0.01)
    assert final(sim, "EV", Matched)


def test_validation_on_both_sides() -> None:
    sim = bench(levels=(30, 20), ev=make_ev(validate=True, validate_toggles=3), validate_supported=True)
    sim.run(until=10.0)
    (matched,) = final(sim, "EV", Matched)
    assert matched.peer == "02:00:00:00:01:02"
    results = [decode_slac(f.message).fields for _, f in sim.sent("EVSE2", "CM_VALIDATE.CNF")]
    assert results[-1]["ToggleNum"] == 3 and results[-1]["Result"] == 2


def test_link_loss_and_re_matching() -> None:
    sim = bench()
    sim.cut_link(at=3.0)
    sim.run(until=8.0)
    assert len(final(sim, "EV", LinkLost)) == 1 and len(final(sim, "EVSE1", LinkLost)) == 1
    matches = final(sim, "EV", Matched)
    assert len(matches) == 2 and matches[0].run_id != matches[1].run_id
    assert len(final(sim, "EVSE1", Matched)) == 2
    assert sim.ev.link_up


def test_simulation_is_deterministic() -> None:
    def trace() -> list:
        sim = bench(levels=(25, 21))
        sim.run(until=5.0)
        return [
            (round(t, 6), f.name, f.message)
            for t, f in sim.sent("EV") + sim.sent("EVSE1") + sim.sent("EVSE2")
        ]

    assert trace() == trace()


def test_injector_logs_what_it_did() -> None:
    injector = FaultInjector()
    sim = bench()
    sim.evses[0].injector = injector
    injector.add(Drop(sends("CM_SLAC_PARM.CNF"), times=1))
    sim.run(until=5.0)
    assert [(kind, item.name) for _, kind, item in injector.log] == [("Drop", "CM_SLAC_PARM.CNF")]


def test_a_delayed_frame_is_released_through_the_kernel_timer() -> None:
    sim = bench()
    sim.evses[0].injector.add(Delay(sends("CM_SLAC_PARM.CNF"), times=1, seconds=0.15))
    sim.run(until=5.0)
    ((request_at, _),) = sim.sent("EV", "CM_SLAC_PARM.REQ")
    ((confirm_at, _),) = sim.sent("EVSE1", "CM_SLAC_PARM.CNF")
    assert confirm_at == pytest.approx(request_at + FRAME_LATENCY_S + 0.15)
    releases = [a for _, a in sim.actions("EVSE1", StartTimer) if a.name == FAULT_RELEASE_TIMER]
    assert [a.deadline for a in releases] == [pytest.approx(confirm_at)]
    assert final(sim, "EV", Matched) and sim.now == 5.0 == sim.clock.now


def test_the_simulation_stops_at_until_and_continues_from_there() -> None:
    sim = bench()
    sim.run(until=0.15)
    # The EV started at 0.1 s; its sounding waits for TT_match_response, which has not run out yet.
    assert sim.now == 0.15 and [f.name for _, f in sim.sent("EV")] == ["CM_SLAC_PARM.REQ"]
    sim.run(until=5.0)
    assert final(sim, "EV", Matched) and sim.now == 5.0
