"""The reference devices' SDP behaviour on a real link: an SDP core on a UDP endpoint, run by CoreDriver.

:class:`SdpStation` is the one place where SDP meets a socket: each datagram the endpoint receives is
decoded (a datagram that does not decode is handed over as its :class:`SdpDecodeError`) and fed to the
core as ``MessageReceived``; each ``Send`` the core returns goes out as a datagram; retry timers and
delayed (faulty) answers are released by the driver's kernel timer. The reference SECC and EVCC use it
with the reference cores, the SDP testers with the same cores plus their faults.

The fault switches of the reference SECC (lab ``access.faults``, ``vgi sim --fault``) are transforms on
its SDP core's actions (:func:`secc_sdp_core`).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable

from harness.codec.v2g.sdp import SdpDecodeError, decode_sdp, encode_sdp
from harness.protocol.core import Core, MessageReceived, Send
from harness.protocol.faults import Fault, FaultyCore
from harness.protocol.sdp import (
    Discovered,
    GaveUp,
    SeccSdp,
    announce_port,
    drop_responses,
    endpoint,
    parse_endpoint,
    slow_responses,
    wrong_security,
)
from harness.transport.driver import CoreDriver, Observe
from harness.transport.udp import Datagram, UdpEndpoint

# Fault "sdp-slow": well past the EVCC's 250 ms SDP wait (ISO 15118-2 7.10.1).
SLOW_ANSWER_DELAY_S = 0.4
# Fault "sdp-bad-port": a port below the dynamic range ISO 15118-2 7.10.1 requires.
BAD_PORT = 8080

# Fault switch -> the transforms it applies to the reference SECC's SDP answers, in the order they
# apply (a withheld answer is neither rewritten nor delayed; a late answer goes out rewritten).
SECC_SDP_FAULTS: dict[str, Callable[[], list[Fault]]] = {
    "sdp-silent": lambda: [drop_responses()],
    "sdp-wrong-security": lambda: [wrong_security()],
    "sdp-bad-port": lambda: [announce_port(BAD_PORT)],
    "sdp-slow": lambda: [slow_responses(SLOW_ANSWER_DELAY_S)],
}
# Fault "sdp-answer-malformed" is no transform (a malformed request yields no action to transform): it
# makes the core answer what it cannot decode (SeccSdp.answer_malformed).
ANSWER_MALFORMED = "sdp-answer-malformed"


def secc_sdp_core(
    address: ipaddress.IPv6Address,
    port: int,
    offered: tuple[int, ...],
    faults: frozenset[str],
    tls_port: int | None = None,
) -> FaultyCore:
    """The reference SECC's SDP server announcing ``address``/``port`` (``tls_port`` to a TLS request it
    grants, when TLS has a port of its own), with the fault switches on."""
    core = SeccSdp(address, port, offered, answer_malformed=ANSWER_MALFORMED in faults, tls_port=tls_port)
    return FaultyCore(
        core, [fault for name in SECC_SDP_FAULTS if name in faults for fault in SECC_SDP_FAULTS[name]()]
    )


class SdpStation:
    """Runs one SDP core on one UDP endpoint until it is :meth:`stop`-ped or reports an outcome
    (``Discovered`` or ``GaveUp``, which also stops it). ``observe`` sees every event before the core."""

    def __init__(self, core: Core, udp: UdpEndpoint, observe: Observe | None = None) -> None:
        self.core = core
        self.udp = udp
        self._outcome: asyncio.Future[Discovered | GaveUp] = asyncio.get_running_loop().create_future()
        # ISO 15118-2 7.10.1: the EVCC waits SDP_RESPONSE_WAIT from the request it sent, so the retry
        # timer counts from when the request is on the wire.
        self.driver = CoreDriver(core, self._perform, observe=observe, timers_from_perform=True)
        self.stopped = False

    def start(self, event: object | None = None) -> None:
        """Feed ``event`` first (e.g. ``LinkUp()``, so an EVCC requests before it reads anything),
        then every datagram: those already queued on the endpoint, and each new one as it arrives."""
        if event is not None:
            self.driver.feed(event)
        if not self.stopped:
            self.udp.deliver(self._on_datagram)

    async def finished(self) -> Discovered | GaveUp:
        """The core's outcome; an SDP server has none and serves until the station is stopped."""
        return await asyncio.shield(self._outcome)

    def stop(self) -> None:
        """Stop the core; datagrams arriving from now on queue on the endpoint."""
        self.stopped = True
        self.driver.close()
        if self.udp.sink == self._on_datagram:
            self.udp.deliver(None)

    def _on_datagram(self, datagram: Datagram) -> None:
        message: object
        try:
            message = decode_sdp(datagram.data)
        except SdpDecodeError as error:
            message = error
        self.driver.feed(MessageReceived(message, endpoint(datagram.address, datagram.port)))

    def _perform(self, action: object) -> None:
        if isinstance(action, Send):
            assert action.destination is not None
            address, port = parse_endpoint(action.destination)
            data = action.message if isinstance(action.message, bytes) else encode_sdp(action.message)
            self.udp.send(data, address, port)
        elif isinstance(action, Discovered | GaveUp):
            self.stop()
            if not self._outcome.done():
                self._outcome.set_result(action)
