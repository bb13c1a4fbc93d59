"""SDP tester roles: the tester as EVCC against an SECC DUT, and as SECC against an EVCC DUT.

A tester is the reference device's protocol machine plus what a test needs on top: raw frames,
silence on purpose, and waiting for what the DUT does.  Verdicts come from the capture, not from
what these objects saw.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time

from harness.codec.v2g.sdp import (
    SDP_SERVER_PORT,
    SdpDecodeError,
    SeccDiscoveryReq,
    SeccDiscoveryRes,
    decode_sdp,
    encode_sdp,
)
from harness.protocol.sdp import SeccSdp, SendSdp
from harness.transport.link import Link
from harness.transport.tcp import start_tcp_server
from harness.transport.udp import DatagramObserver, UdpEndpoint, open_udp


class SdpEvccTester:
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
        """Send one datagram to the SDP destination; the first valid response within ``wait_s``."""
        assert self.udp is not None
        loop = asyncio.get_running_loop()
        self.udp.send(data, self.link.sdp_destination, SDP_SERVER_PORT)
        deadline = loop.time() + wait_s
        while (remaining := deadline - loop.time()) > 0:
            datagram = await self.udp.receive(remaining)
            if datagram is None:
                break
            try:
                message = decode_sdp(datagram.data)
            except SdpDecodeError:
                continue  # the capture records it; the verdict judges it
            if isinstance(message, SeccDiscoveryRes):
                return message
        return None

    async def discover(self, request: SeccDiscoveryReq, wait_s: float) -> SeccDiscoveryRes | None:
        return await self.send_and_wait(encode_sdp(request), wait_s)

    def close(self) -> None:
        if self.udp:
            self.udp.close()


class SdpSeccTester:
    """Answers SDP like the reference SECC, except the first ``ignore_first`` requests (None: all)."""

    def __init__(
        self,
        link: Link,
        observer: DatagramObserver | None = None,
        offered_security: tuple[int, ...] = (0x10,),
    ):
        self.link = link
        self.observer = observer
        self.offered_security = offered_security
        self.ignore_first: int | None = 0
        self.requests_seen = 0
        self.last_request_t: float | None = None
        self.connected = asyncio.Event()
        self.answered = asyncio.Event()
        self.request_seen = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._server: asyncio.Server | None = None
        self._udp: UdpEndpoint | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.port = 0

    async def open(self) -> None:
        self._server, self.port = await start_tcp_server(self.link, self._on_connection)
        self._udp = await open_udp(self.link, SDP_SERVER_PORT, listen_multicast=True, observer=self.observer)
        self._machine = SeccSdp(ipaddress.IPv6Address(self.link.address), self.port, self.offered_security)
        self._tasks.append(asyncio.ensure_future(self._serve()))

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

    async def _serve(self) -> None:
        assert self._udp is not None
        loop = asyncio.get_running_loop()
        while True:
            datagram = await self._udp.receive(None)
            assert datagram is not None
            try:
                message = decode_sdp(datagram.data)
            except SdpDecodeError:
                continue
            if not isinstance(message, SeccDiscoveryReq):
                continue
            self.requests_seen += 1
            self.last_request_t = loop.time()
            self.request_seen.set()
            if self.ignore_first is None or self.requests_seen <= self.ignore_first:
                continue
            for action in self._machine.datagram_received(message, datagram.address, loop.time()):
                if isinstance(action, SendSdp):
                    self._udp.send(encode_sdp(action.message), datagram.address, datagram.port)
                    self.answered.set()

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
        for task in self._tasks:
            task.cancel()
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
