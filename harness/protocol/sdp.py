"""SDP behaviour of the EVCC and the SECC, sans-I/O (ISO 15118-2 section 7.10.1, DIN SPEC 70121 9.2).

The machines take decoded datagrams and timer expiries with a timestamp supplied by the caller and
return actions; the asyncio adapters in harness.transport run them on real sockets.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from harness.codec.v2g.sdp import (
    SECURITY_NONE,
    SECURITY_TLS,
    TRANSPORT_TCP,
    SeccDiscoveryReq,
    SeccDiscoveryRes,
)
from harness.protocol.timers import register_timer

# ISO 15118-2 section 7.10.1 (used by DIN SPEC 70121): the EVCC waits 250 ms for an answer before it
# sends the request again.
SDP_RESPONSE_WAIT_S = register_timer(
    "SDP_RESPONSE_WAIT",
    0.25,
    "ISO 15118-2 7.10.1 (SDP client retransmission)",
    "time the EVCC waits for a SECCDiscoveryRes before it repeats the request",
)
# ISO 15118-2 section 7.10.1: the EVCC sends at most 50 SDP requests.
SDP_MAX_REQUESTS = 50


@dataclass(frozen=True, slots=True)
class SendSdp:
    message: SeccDiscoveryReq | SeccDiscoveryRes
    destination: str  # IPv6 address; the adapter adds the scope of its interface


@dataclass(frozen=True, slots=True)
class StartTimer:
    name: str
    deadline: float


@dataclass(frozen=True, slots=True)
class Discovered:
    """The EVCC knows where to open its V2G TCP connection."""

    response: SeccDiscoveryRes


@dataclass(frozen=True, slots=True)
class GaveUp:
    reason: str


SdpAction = SendSdp | StartTimer | Discovered | GaveUp

RETRY_TIMER = "sdp-retry"


@dataclass
class EvccSdp:
    """The EVCC's SDP client: send, wait SDP_RESPONSE_WAIT_S, resend, give up after SDP_MAX_REQUESTS."""

    security: int = SECURITY_NONE
    transport: int = TRANSPORT_TCP
    response_wait_s: float = SDP_RESPONSE_WAIT_S
    max_requests: int = SDP_MAX_REQUESTS
    destination: str = "ff02::1"
    requests_sent: int = 0
    done: bool = False

    def start(self, now: float) -> list[SdpAction]:
        return self._send(now)

    def _send(self, now: float) -> list[SdpAction]:
        self.requests_sent += 1
        return [
            SendSdp(SeccDiscoveryReq(self.security, self.transport), self.destination),
            StartTimer(RETRY_TIMER, now + self.response_wait_s),
        ]

    def timer_expired(self, name: str, now: float) -> list[SdpAction]:
        if self.done or name != RETRY_TIMER:
            return []
        if self.requests_sent >= self.max_requests:
            self.done = True
            return [GaveUp(f"no SECCDiscoveryRes after {self.requests_sent} requests")]
        return self._send(now)

    def datagram_received(self, message: object, now: float) -> list[SdpAction]:
        # A response is usable only if it offers what this EVCC asked for; anything else is ignored
        # and the EVCC keeps retrying.
        if self.done or not isinstance(message, SeccDiscoveryRes):
            return []
        if message.security != self.security or message.transport != self.transport:
            return []
        self.done = True
        return [Discovered(message)]


@dataclass
class SeccSdp:
    """The SECC's SDP server: answer every valid request with this SECC's address and port.

    ``offered_security`` lists what the SECC supports; a request for a security mode it does not
    offer is answered with the one it does: the response states what the SECC will use
    (ISO 15118-2 section 7.10.1).
    """

    address: ipaddress.IPv6Address
    port: int
    offered_security: tuple[int, ...] = (SECURITY_NONE,)
    responses_sent: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    def datagram_received(self, message: object, source: str, now: float) -> list[SdpAction]:
        if not isinstance(message, SeccDiscoveryReq) or message.transport != TRANSPORT_TCP:
            return []
        if message.security in self.offered_security:
            security = message.security
        else:
            security = SECURITY_NONE if SECURITY_NONE in self.offered_security else SECURITY_TLS
        self.responses_sent += 1
        return [SendSdp(SeccDiscoveryRes(self.address, self.port, security, TRANSPORT_TCP), source)]
