"""The SDP cores (ISO 15118-2 7.10.1) on the simulated clock: EVCC retries and outcome, SECC answers,
and the SDP fault transforms."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from harness.codec.v2g.sdp import (
    SDP_SERVER_PORT,
    SECURITY_NONE,
    SECURITY_TLS,
    TRANSPORT_TCP,
    TRANSPORT_UDP,
    SdpDecodeError,
    SeccDiscoveryReq,
    SeccDiscoveryRes,
)
from harness.protocol.core import CancelTimer, LinkUp, MessageReceived, Send, StartTimer, TimerExpired
from harness.protocol.faults import FAULT_RELEASE_TIMER, FaultyCore
from harness.protocol.sdp import (
    RETRY_TIMER,
    SDP_MAX_REQUESTS,
    SDP_RESPONSE_WAIT_S,
    Discovered,
    EvccSdp,
    GaveUp,
    SeccSdp,
    announce_port,
    answered_security,
    drop_responses,
    endpoint,
    is_request,
    is_response,
    offered_security,
    parse_endpoint,
    raw_requests,
    requested_security,
    slow_responses,
    wrong_security,
)
from harness.protocol.simclock import SimulatedClock

SECC_ADDRESS = ipaddress.IPv6Address("fe80::2")
SECC_PORT = 50000
EVCC = endpoint("fe80::1", 49200)


def response(security: int = SECURITY_NONE, transport: int = TRANSPORT_TCP) -> SeccDiscoveryRes:
    return SeccDiscoveryRes(SECC_ADDRESS, SECC_PORT, security, transport)


def sends(actions: list[Any]) -> list[Send]:
    return [action for action in actions if isinstance(action, Send)]


class Wire:
    """Runs an EVCC core and an SECC core on one simulated clock, datagrams taking ``latency`` s."""

    def __init__(self, evcc: Any, secc: Any, latency: float = 0.001) -> None:
        self.clock = SimulatedClock()
        self.log: list[tuple[float, str, Any]] = []
        self.evcc = self.clock.attach(evcc, lambda actions, now: self._carry("evcc", actions, now))
        self.secc = self.clock.attach(secc, lambda actions, now: self._carry("secc", actions, now))
        self.latency = latency

    def _carry(self, sender: str, actions: list[Any], now: float) -> None:
        for action in actions:
            self.log.append((now, sender, action))
            if isinstance(action, Send):
                target, source = (self.secc, EVCC) if sender == "evcc" else (self.evcc, action.destination)
                self.clock.schedule(target, MessageReceived(action.message, source), now + self.latency)

    def sent(self, sender: str) -> list[tuple[float, Send]]:
        return [(t, a) for t, who, a in self.log if who == sender and isinstance(a, Send)]

    def outcome(self) -> list[tuple[float, Any]]:
        return [(t, a) for t, who, a in self.log if who == "evcc" and isinstance(a, Discovered | GaveUp)]


def run_evcc_alone(core: EvccSdp, until: float = 60.0) -> list[tuple[float, Any]]:
    clock = SimulatedClock()
    log: list[tuple[float, Any]] = []
    handle = clock.attach(core, lambda actions, now: log.extend((now, a) for a in actions))
    clock.feed(handle, LinkUp())
    clock.run(until=until)
    return log


# --- EVCC ---------------------------------------------------------------------------------------------


def test_evcc_starts_on_link_up_with_a_multicast_request_and_a_retry_timer() -> None:
    core = EvccSdp()
    assert core.handle(LinkUp(), 3.0) == [
        Send(
            SeccDiscoveryReq(SECURITY_NONE, TRANSPORT_TCP), "SECCDiscoveryReq", f"[ff02::1]:{SDP_SERVER_PORT}"
        ),
        StartTimer(RETRY_TIMER, 3.0 + SDP_RESPONSE_WAIT_S),
    ]
    assert core.handle(LinkUp(), 3.1) == []  # already discovering
    assert core.next_deadline() == pytest.approx(3.25)


def test_evcc_repeats_every_response_wait_and_gives_up_after_max_requests() -> None:
    log = run_evcc_alone(EvccSdp())
    times = [t for t, a in log if isinstance(a, Send)]
    assert len(times) == SDP_MAX_REQUESTS
    assert times == pytest.approx([i * SDP_RESPONSE_WAIT_S for i in range(SDP_MAX_REQUESTS)])
    [(t, gave_up)] = [(t, a) for t, a in log if isinstance(a, GaveUp)]
    assert t == pytest.approx(SDP_MAX_REQUESTS * SDP_RESPONSE_WAIT_S)
    assert "50 requests" in gave_up.reason


def test_evcc_retry_interval_and_limit_come_from_its_settings() -> None:
    log = run_evcc_alone(EvccSdp(response_wait_s=0.4, max_requests=3))
    assert [t for t, a in log if isinstance(a, Send)] == pytest.approx([0.0, 0.4, 0.8])
    assert [t for t, a in log if isinstance(a, GaveUp)] == pytest.approx([1.2])


@pytest.mark.parametrize(
    "answer",
    [response(security=SECURITY_TLS), response(transport=TRANSPORT_UDP)],
    ids=["wrong-security", "wrong-transport"],
)
def test_evcc_ignores_a_response_it_did_not_ask_for_and_keeps_retrying(answer: SeccDiscoveryRes) -> None:
    core = EvccSdp(SECURITY_NONE, TRANSPORT_TCP)
    core.handle(LinkUp(), 0.0)
    assert core.handle(MessageReceived(answer, "[fe80::2]:15118"), 0.1) == []
    assert not core.done
    assert sends(core.handle(TimerExpired(RETRY_TIMER), 0.25))  # the next request
    assert core.requests_sent == 2


def test_evcc_ignores_requests_and_undecodable_datagrams() -> None:
    core = EvccSdp()
    core.handle(LinkUp(), 0.0)
    assert core.handle(MessageReceived(SeccDiscoveryReq()), 0.1) == []
    assert core.handle(MessageReceived(SdpDecodeError(0, "bad version")), 0.1) == []
    assert not core.done


def test_evcc_discovers_on_a_matching_response_and_stops_retrying() -> None:
    core = EvccSdp(SECURITY_TLS)
    core.handle(LinkUp(), 0.0)
    answer = response(security=SECURITY_TLS)
    assert core.handle(MessageReceived(answer), 0.1) == [CancelTimer(RETRY_TIMER), Discovered(answer)]
    assert core.next_deadline() is None
    assert core.handle(TimerExpired(RETRY_TIMER), 0.25) == []
    assert core.handle(MessageReceived(answer), 0.3) == []  # a second answer changes nothing


def test_evcc_accepting_any_response_takes_a_mismatched_one() -> None:
    core = EvccSdp(SECURITY_NONE, accept_any_response=True)
    core.handle(LinkUp(), 0.0)
    answer = response(security=SECURITY_TLS)
    assert core.handle(MessageReceived(answer), 0.1)[-1] == Discovered(answer)


def test_evcc_ignores_stale_and_foreign_timer_expiries() -> None:
    core = EvccSdp()
    core.handle(LinkUp(), 0.0)
    assert core.handle(TimerExpired(RETRY_TIMER), 0.1) == []  # early: not due yet
    assert core.handle(TimerExpired("something-else"), 0.3) == []
    assert core.requests_sent == 1
    assert sends(core.handle(TimerExpired(RETRY_TIMER), 0.25))
    assert core.handle(TimerExpired(RETRY_TIMER), 0.26) == []  # duplicate wake-up of the fired timer
    assert core.requests_sent == 2


def test_evcc_ignores_events_after_giving_up() -> None:
    core = EvccSdp(max_requests=1)
    core.handle(LinkUp(), 0.0)
    assert isinstance(core.handle(TimerExpired(RETRY_TIMER), 0.25)[0], GaveUp)
    assert core.handle(MessageReceived(response()), 0.3) == []
    assert core.handle(LinkUp(), 0.3) == []


# --- SECC ---------------------------------------------------------------------------------------------


def test_secc_answers_with_its_address_port_and_security_to_the_sender() -> None:
    core = SeccSdp(SECC_ADDRESS, SECC_PORT, (SECURITY_NONE,))
    actions = core.handle(MessageReceived(SeccDiscoveryReq(SECURITY_NONE, TRANSPORT_TCP), EVCC), 1.0)
    assert actions == [Send(response(SECURITY_NONE), "SECCDiscoveryRes", EVCC)]
    assert core.responses_sent == 1
    assert core.next_deadline() is None  # no timers: it answers at once


@pytest.mark.parametrize(
    ("offered", "requested", "answered"),
    [
        ((SECURITY_NONE,), SECURITY_NONE, SECURITY_NONE),
        ((SECURITY_NONE,), SECURITY_TLS, SECURITY_NONE),
        ((SECURITY_TLS,), SECURITY_NONE, SECURITY_TLS),
        ((SECURITY_NONE, SECURITY_TLS), SECURITY_TLS, SECURITY_TLS),
        ((SECURITY_NONE, SECURITY_TLS), SECURITY_NONE, SECURITY_NONE),
    ],
)
def test_secc_states_the_security_it_will_use(
    offered: tuple[int, ...], requested: int, answered: int
) -> None:
    core = SeccSdp(SECC_ADDRESS, SECC_PORT, offered)
    [send] = core.handle(MessageReceived(SeccDiscoveryReq(requested), EVCC), 0.0)
    assert send.message.security == answered == answered_security(requested, offered)


def test_secc_ignores_non_tcp_requests_responses_and_other_events() -> None:
    core = SeccSdp(SECC_ADDRESS, SECC_PORT)
    assert core.handle(MessageReceived(SeccDiscoveryReq(SECURITY_NONE, TRANSPORT_UDP), EVCC), 0.0) == []
    assert core.handle(MessageReceived(response(), EVCC), 0.0) == []
    assert core.handle(LinkUp(), 0.0) == []
    assert core.handle(TimerExpired(RETRY_TIMER), 0.0) == []
    assert core.responses_sent == 0


def test_secc_ignores_a_malformed_request_unless_told_to_answer_it() -> None:
    error = MessageReceived(SdpDecodeError(1, "inverse protocol version"), EVCC)
    assert SeccSdp(SECC_ADDRESS, SECC_PORT).handle(error, 0.0) == []
    lax = SeccSdp(SECC_ADDRESS, SECC_PORT, answer_malformed=True)
    assert lax.handle(error, 0.0) == [Send(response(), "SECCDiscoveryRes", EVCC)]


def test_pics_select_the_offered_and_requested_security() -> None:
    def pics(*keys: str):
        return lambda key: key in keys

    assert offered_security(pics()) == (SECURITY_NONE,)
    assert offered_security(pics("sdp.tls")) == (SECURITY_TLS,)
    assert offered_security(pics("sdp.no_tls", "sdp.tls")) == (SECURITY_NONE, SECURITY_TLS)
    assert requested_security(pics("sdp.tls")) == SECURITY_TLS
    assert requested_security(pics("sdp.no_tls", "sdp.tls")) == SECURITY_NONE
    assert requested_security(pics()) == SECURITY_NONE


def test_endpoint_round_trip() -> None:
    assert endpoint("fe80::1", 15118) == "[fe80::1]:15118"
    assert parse_endpoint(endpoint("fe80::1", 15118)) == ("fe80::1", 15118)
    assert parse_endpoint("[::1]:49152") == ("::1", 49152)


# --- both cores, and the fault transforms -------------------------------------------------------------


def test_evcc_discovers_a_prompt_secc_with_its_first_request() -> None:
    wire = Wire(EvccSdp(), SeccSdp(SECC_ADDRESS, SECC_PORT))
    wire.clock.feed(wire.evcc, LinkUp())
    wire.clock.run(until=60.0)
    assert len(wire.sent("evcc")) == 1
    [(t, discovered)] = wire.outcome()
    assert t == pytest.approx(0.002)
    assert discovered == Discovered(response())


def test_dropped_answers_make_the_evcc_give_up() -> None:
    wire = Wire(EvccSdp(), FaultyCore(SeccSdp(SECC_ADDRESS, SECC_PORT), [drop_responses()]))
    wire.clock.feed(wire.evcc, LinkUp())
    wire.clock.run(until=60.0)
    assert len(wire.sent("evcc")) == SDP_MAX_REQUESTS
    assert wire.sent("secc") == []
    assert isinstance(wire.outcome()[0][1], GaveUp)


def test_a_delay_is_released_on_the_kernel_timer_one_answer_at_a_time() -> None:
    secc = FaultyCore(SeccSdp(SECC_ADDRESS, SECC_PORT), [slow_responses(0.4)])
    assert secc.handle(MessageReceived(SeccDiscoveryReq(), EVCC), 0.0) == [
        StartTimer(FAULT_RELEASE_TIMER, 0.4)
    ]
    # A second request while the first is being worked on is answered 0.4 s after the first answer.
    assert secc.handle(MessageReceived(SeccDiscoveryReq(), EVCC), 0.25) == []
    assert secc.next_deadline() == pytest.approx(0.4)
    assert secc.due_timers(0.39) == []
    first = secc.handle(TimerExpired(FAULT_RELEASE_TIMER), 0.4)
    assert sends(first) == [Send(response(), "SECCDiscoveryRes", EVCC)]
    assert first[-1] == StartTimer(FAULT_RELEASE_TIMER, pytest.approx(0.8))
    assert sends(secc.handle(TimerExpired(FAULT_RELEASE_TIMER), 0.8)) == [
        Send(response(), "SECCDiscoveryRes", EVCC)
    ]
    # Idle again: the next answer is 0.4 s after its own request.
    secc.handle(MessageReceived(SeccDiscoveryReq(), EVCC), 2.0)
    assert secc.next_deadline() == pytest.approx(2.4)


def test_a_slow_secc_is_discovered_by_its_late_answer_while_the_evcc_retries() -> None:
    secc = FaultyCore(SeccSdp(SECC_ADDRESS, SECC_PORT), [slow_responses(0.4)])
    wire = Wire(EvccSdp(), secc, latency=0.0)
    wire.clock.feed(wire.evcc, LinkUp())
    wire.clock.run(until=60.0)
    assert [t for t, _ in wire.sent("evcc")] == pytest.approx([0.0, 0.25])
    assert [t for t, _ in wire.sent("secc")] == pytest.approx([0.4, 0.8])
    assert [t for t, _ in wire.outcome()] == pytest.approx([0.4])


def test_rewrites_change_the_answer_and_the_evcc_ignores_a_wrong_security() -> None:
    secc = FaultyCore(SeccSdp(SECC_ADDRESS, SECC_PORT), [wrong_security(), announce_port(8080)])
    [send] = sends(secc.handle(MessageReceived(SeccDiscoveryReq(SECURITY_NONE), EVCC), 0.0))
    assert send.message == SeccDiscoveryRes(SECC_ADDRESS, 8080, SECURITY_TLS, TRANSPORT_TCP)
    both = FaultyCore(SeccSdp(SECC_ADDRESS, SECC_PORT, (SECURITY_NONE, SECURITY_TLS)), [wrong_security()])
    [send] = sends(both.handle(MessageReceived(SeccDiscoveryReq(SECURITY_TLS), EVCC), 0.1))
    assert send.message.security == SECURITY_NONE

    wire = Wire(EvccSdp(max_requests=3), FaultyCore(SeccSdp(SECC_ADDRESS, SECC_PORT), [wrong_security()]))
    wire.clock.feed(wire.evcc, LinkUp())
    wire.clock.run(until=60.0)
    assert len(wire.sent("secc")) == 3
    assert isinstance(wire.outcome()[0][1], GaveUp)


def test_drop_can_select_which_answers_it_withholds() -> None:
    answered = {"n": 0}

    def first_two(action: object) -> bool:
        if not is_response(action):
            return False
        answered["n"] += 1
        return answered["n"] <= 2

    wire = Wire(EvccSdp(), FaultyCore(SeccSdp(SECC_ADDRESS, SECC_PORT), [drop_responses(first_two)]))
    wire.clock.feed(wire.evcc, LinkUp())
    wire.clock.run(until=60.0)
    assert [t for t, _ in wire.sent("evcc")] == pytest.approx([0.0, 0.25, 0.5])
    assert len(wire.sent("secc")) == 1
    assert isinstance(wire.outcome()[0][1], Discovered)


def test_raw_requests_replace_what_the_evcc_sends() -> None:
    core = FaultyCore(EvccSdp(max_requests=2), [raw_requests(b"\x02\xfd")])
    [send] = sends(core.handle(LinkUp(), 0.0))
    assert is_request(send) and send.message == b"\x02\xfd"
    [send] = sends(core.handle(TimerExpired(RETRY_TIMER), 0.25))
    assert send.message == b"\x02\xfd"
