"""SDP tester roles: the tester as EVCC against an SECC DUT, and as SECC against an EVCC DUT.

A tester is the reference device's protocol machine plus what a test needs on top: raw frames,
silence on purpose, and waiting for what the DUT does.  Verdicts come from the capture, not from
what these objects saw.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time

from harness.codec.v2g.sdp import SDP_SERVER_PORT, SECURITY_NONE, SeccDiscoveryReq, SeccDiscoveryRes
from harness.devices.sdp_station import SdpStation, secc_sdp_core
from harness.protocol.core import LinkUp, MessageReceived
from harness.protocol.faults import Fault, FaultyCore
from harness.protocol.sdp import Discovered, EvccSdp, drop_responses, is_response, raw_requests
from harness.transport.link import Link
from harness.transport.tcp import start_tcp_server
from harness.transport.udp import DatagramObserver, UdpEndpoint, open_udp


class SdpEvccTester:
    """The reference EVCC's SDP core with the tester's changes: a fixed number of requests, each one
    waited for as long as the step says, any answer taken (the verdict judges it), and crafted
    (malformed) requests sent in place of the core's."""

    def __init__(self, link: Link, observer: DatagramObserver | None = None) -> None:
        self.link = link
        self.observer = observer
        self.udp: UdpEndpoint | None = None

    async def open(self) -> None:
        self.udp = await open_udp(self.link, observer=self.observer)

    @property
    def local_port(self) -> int:
        assert self.udp is not None
        return self.udp.local_port

    async def send_and_wait(self, data: bytes, wait_s: float) -> SeccDiscoveryRes | None:
        """Send one datagram to the SDP destination; the first response within ``wait_s``."""
        return await self._run(SeccDiscoveryReq(), wait_s, 1, [raw_requests(data)])

    async def discover(
        self, request: SeccDiscoveryReq, wait_s: float, attempts: int = 1
    ) -> SeccDiscoveryRes | None:
        """Send ``request`` up to ``attempts`` times, ``wait_s`` apart; the first response, if any."""
        return await self._run(request, wait_s, attempts, [])

    async def _run(
        self, request: SeccDiscoveryReq, wait_s: float, attempts: int, faults: list[Fault]
    ) -> SeccDiscoveryRes | None:
        assert self.udp is not None
        core = EvccSdp(
            request.security,
            request.transport,
            response_wait_s=wait_s,
            max_requests=attempts,
            destination=self.link.sdp_destination,
            accept_any_response=True,
        )
        station = SdpStation(FaultyCore(core, faults), self.udp)
        try:
            station.start(LinkUp())
            outcome = await station.finished()
        finally:
            station.stop()
        return outcome.response if isinstance(outcome, Discovered) else None

    def close(self) -> None:
        if self.udp:
            self.udp.close()


class SdpSeccTester:
    """Answers SDP like the reference SECC, except the first ``ignore_first`` requests (None: all)."""

    def __init__(
        self,
        link: Link,
        observer: DatagramObserver | None = None,
        offered_security: tuple[int, ...] = (SECURITY_NONE,),
    ):
        self.link = link
        self.observer = observer
        self.offered_security = offered_security
        self.ignore_first: int | None = 0
        self.requests_seen = 0
        self.last_request_t: float | None = None
        self.connected = asyncio.Event()
        self.request_seen = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._udp: UdpEndpoint | None = None
        self._station: SdpStation | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.port = 0

    async def open(self) -> None:
        self._server, self.port = await start_tcp_server(self.link, self._on_connection)
        self._udp = await open_udp(self.link, SDP_SERVER_PORT, listen_multicast=True, observer=self.observer)
        # The reference SECC's SDP server (no fault switches) plus the tester's one fault: withhold the
        # answers to the requests it is told to ignore.
        address = ipaddress.IPv6Address(self.link.address)
        core = secc_sdp_core(address, self.port, self.offered_security, frozenset())
        core.add(drop_responses(self._ignoring))
        self._station = SdpStation(core, self._udp, observe=self._observe)
        self._station.start()

    @property
    def local_ports(self) -> tuple[int, ...]:
        """The SDP port and the V2G TCP port this tester SECC serves on."""
        return (SDP_SERVER_PORT, self.port)

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.observer:
            peer, local = writer.get_extra_info("peername"), writer.get_extra_info("sockname")
            self.observer.connection(
                (peer[0].split("%")[0], peer[1]), (local[0].split("%")[0], local[1]), time.time()
            )
        self._writers.append(writer)
        self.connected.set()

    def _observe(self, event: object, now: float) -> None:
        # Every well-formed request counts, answered or not (the core sees it right after this).
        if isinstance(event, MessageReceived) and isinstance(event.message, SeccDiscoveryReq):
            self.requests_seen += 1
            self.last_request_t = asyncio.get_running_loop().time()
            self.request_seen.set()

    def _ignoring(self, action: object) -> bool:
        """An answer to one of the first ``ignore_first`` requests (to any, if None)."""
        if not is_response(action):
            return False
        return self.ignore_first is None or self.requests_seen <= self.ignore_first

    async def wait_connected(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.connected.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def wait_first_request(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.request_seen.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def wait_quiet(self, quiet_s: float, max_s: float) -> bool:
        """Until no request came for ``quiet_s``; False if requests still came after ``max_s``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_s
        while loop.time() < deadline:
            last = self.last_request_t or loop.time()
            wait = last + quiet_s - loop.time()
            if wait <= 0:
                return True
            await asyncio.sleep(min(wait, deadline - loop.time()))
        return False

    async def close(self) -> None:
        if self._station:
            self._station.stop()
        for writer in self._writers:
            writer.close()
        if self._udp:
            self._udp.close()
        if self._server:
            self._server.close()


# The tester keeps listening this many times a limit, so that a late answer is seen and timed
# (FAIL with the measured delay) rather than missed (FAIL with "no answer").
OBSERVATION_FACTOR = 2
# An EVCC that sent nothing for this many retry intervals has stopped.
QUIET_INTERVALS = 4


def malformed_sdp_request(defect: str) -> bytes:
    """A SECCDiscoveryReq with one defect a strict SECC must reject (ISO 15118-2 7.8.3, 7.10.1)."""
    from harness.codec.v2g.v2gtp import PayloadType, encode_v2gtp

    payload = bytes([0x10, 0x00])
    defects = {
        "version": lambda: encode_v2gtp(PayloadType.SDP_REQUEST, payload, version=0x02),
        "inverse-version": lambda: encode_v2gtp(PayloadType.SDP_REQUEST, payload, inverse_version=0xFF),
        "payload-type": lambda: encode_v2gtp(0x9002, payload),
        "length": lambda: encode_v2gtp(PayloadType.SDP_REQUEST, payload + b"\x00"),
    }
    if defect not in defects:
        raise ValueError(f"unknown SDP defect {defect!r}; known: {sorted(defects)}")
    return defects[defect]()
