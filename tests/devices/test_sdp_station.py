"""SdpStation (an SDP core on a UDP endpoint, run by CoreDriver) and the reference SECC's SDP fault
switches, with an in-memory stand-in for the UDP endpoint."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable

import pytest

from harness.codec.v2g.sdp import (
    SECURITY_NONE,
    SECURITY_TLS,
    SeccDiscoveryReq,
    SeccDiscoveryRes,
    decode_sdp,
    encode_sdp,
)
from harness.devices.sdp_station import BAD_PORT, SLOW_ANSWER_DELAY_S, SdpStation, secc_sdp_core
from harness.protocol.core import LinkUp, MessageReceived, Send
from harness.protocol.sdp import Discovered, EvccSdp, GaveUp
from harness.transport.udp import Datagram

SECC = ipaddress.IPv6Address("fe80::2")


class FakeUdp:
    """What SdpStation uses of a UdpEndpoint: deliver(), sink, send(); datagrams queue until a sink."""

    def __init__(self) -> None:
        self.sink: Callable[[Datagram], None] | None = None
        self.queued: list[Datagram] = []
        self.sent: list[tuple[bytes, str, int]] = []
        self.sent_one = asyncio.Event()

    def deliver(self, sink: Callable[[Datagram], None] | None) -> None:
        self.sink = sink
        while sink is not None and self.sink is sink and self.queued:
            sink(self.queued.pop(0))

    def arrive(self, data: bytes, address: str = "fe80::1", port: int = 49200) -> None:
        datagram = Datagram(data, address, port, 0.0)
        if self.sink is None:
            self.queued.append(datagram)
        else:
            self.sink(datagram)

    def send(self, data: bytes, address: str, port: int) -> None:
        self.sent.append((data, address, port))
        self.sent_one.set()


async def _secc_station_answers_each_request_to_its_sender() -> None:
    udp = FakeUdp()
    station = SdpStation(secc_sdp_core(SECC, 50000, (SECURITY_NONE,), frozenset()), udp)  # type: ignore[arg-type]
    station.start()
    udp.arrive(encode_sdp(SeccDiscoveryReq()), "fe80::1", 49200)
    udp.arrive(b"\x01\xff\x90\x00", "fe80::1", 49201)  # malformed: ignored
    assert udp.sent == [(encode_sdp(SeccDiscoveryRes(SECC, 50000)), "fe80::1", 49200)]
    station.stop()
    assert udp.sink is None
    udp.arrive(encode_sdp(SeccDiscoveryReq()))
    assert len(udp.sent) == 1 and len(udp.queued) == 1  # stopped: it queues, nobody answers


async def _evcc_station_requests_before_it_reads_what_was_queued() -> None:
    udp = FakeUdp()
    answer = SeccDiscoveryRes(SECC, 50000)
    udp.arrive(encode_sdp(answer))  # a late answer to an earlier request, still queued
    seen: list[object] = []
    station = SdpStation(EvccSdp(destination="ff02::1"), udp, observe=lambda event, now: seen.append(event))  # type: ignore[arg-type]
    station.start(LinkUp())
    assert [decode_sdp(data) for data, _, _ in udp.sent] == [SeccDiscoveryReq()]
    assert udp.sent[0][1:] == ("ff02::1", 15118)
    assert await station.finished() == Discovered(answer)
    assert isinstance(seen[0], LinkUp) and isinstance(seen[1], MessageReceived)
    assert udp.sink is None  # an outcome stops the station
    udp.arrive(encode_sdp(answer))
    assert len(udp.queued) == 1  # left for whoever reads next


async def _evcc_station_gives_up_on_the_driver_timer() -> None:
    udp = FakeUdp()
    station = SdpStation(EvccSdp(response_wait_s=0.01, max_requests=2), udp)  # type: ignore[arg-type]
    station.start(LinkUp())
    outcome = await asyncio.wait_for(station.finished(), 5.0)
    assert isinstance(outcome, GaveUp)
    assert len(udp.sent) == 2


def test_slow_fault_answers_late_through_the_driver_timer() -> None:
    async def scenario() -> None:
        udp = FakeUdp()
        core = secc_sdp_core(SECC, 50000, (SECURITY_NONE,), frozenset({"sdp-slow"}))
        station = SdpStation(core, udp)  # type: ignore[arg-type]
        station.start()
        udp.arrive(encode_sdp(SeccDiscoveryReq()))
        received = station.driver.now()
        assert udp.sent == []  # held back ...
        deadline = core.next_deadline()
        assert deadline is not None and deadline - received == pytest.approx(SLOW_ANSWER_DELAY_S, abs=0.05)
        await asyncio.wait_for(udp.sent_one.wait(), 5.0)  # ... and released by the driver's timer
        assert [decode_sdp(data) for data, _, _ in udp.sent] == [SeccDiscoveryRes(SECC, 50000)]
        station.stop()

    asyncio.run(scenario())


def _answer(faults: set[str], data: bytes, offered: tuple[int, ...] = (SECURITY_NONE,)) -> list[object]:
    core = secc_sdp_core(SECC, 50000, offered, frozenset(faults))
    try:
        message: object = decode_sdp(data)
    except Exception as error:  # noqa: BLE001 - the decode error is what the core gets
        message = error
    actions = core.handle(MessageReceived(message, "[fe80::1]:49200"), 0.0)
    return [action.message for action in actions if isinstance(action, Send)]


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        (set(), [SeccDiscoveryRes(SECC, 50000, SECURITY_NONE)]),
        ({"sdp-silent"}, []),
        ({"sdp-silent", "sdp-slow"}, []),
        ({"sdp-wrong-security"}, [SeccDiscoveryRes(SECC, 50000, SECURITY_TLS)]),
        ({"sdp-bad-port"}, [SeccDiscoveryRes(SECC, BAD_PORT, SECURITY_NONE)]),
        ({"sdp-slow"}, []),  # held back, released by the kernel timer
    ],
)
def test_fault_switches_transform_the_secc_answer(faults: set[str], expected: list[object]) -> None:
    assert _answer(faults, encode_sdp(SeccDiscoveryReq())) == expected


def test_answer_malformed_switch_answers_what_does_not_decode() -> None:
    malformed = b"\x01\xff\x90\x00\x00\x00\x00\x02\x10\x00"  # wrong inverse version
    assert _answer(set(), malformed) == []
    assert _answer({"sdp-answer-malformed"}, malformed) == [SeccDiscoveryRes(SECC, 50000, SECURITY_NONE)]


def test_secc_station_answers_each_request_to_its_sender() -> None:
    asyncio.run(_secc_station_answers_each_request_to_its_sender())


def test_evcc_station_requests_before_it_reads_what_was_queued() -> None:
    asyncio.run(_evcc_station_requests_before_it_reads_what_was_queued())


def test_evcc_station_gives_up_on_the_driver_timer() -> None:
    asyncio.run(_evcc_station_gives_up_on_the_driver_timer())
