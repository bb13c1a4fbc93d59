"""SDP behaviour of the EVCC and the SECC, sans-I/O (ISO 15118-2 section 7.10.1, DIN SPEC 70121 9.2).

Both are kernel cores (:mod:`harness.protocol.core`): they take events with a timestamp supplied by the
driver and return kernel actions. A datagram arrives as ``MessageReceived(message, source)``, where
``message`` is the decoded SDP message (or the :class:`SdpDecodeError` of a datagram that did not
decode) and ``source`` the sender as an :func:`endpoint` string; a :class:`Send` goes to such an
endpoint. The EVCC begins on :class:`LinkUp` (ISO 15118-2 7.10.1: SDP starts once the data link is up).

Faults on SDP are transforms on these actions (the selectors and builders at the end of this module),
applied with :class:`harness.protocol.faults.FaultyCore`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from harness.codec.v2g.sdp import (
    SDP_MULTICAST_ADDRESS,
    SDP_SERVER_PORT,
    SECURITY_NONE,
    SECURITY_TLS,
    TRANSPORT_TCP,
    SdpDecodeError,
    SeccDiscoveryReq,
    SeccDiscoveryRes,
)
from harness.protocol.core import LinkUp, MessageReceived, Send, TimedCore, TimerExpired
from harness.protocol.faults import Delay, Drop, Fault, Rewrite
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

RETRY_TIMER = "sdp-retry"
REQUEST_NAME = "SECCDiscoveryReq"
RESPONSE_NAME = "SECCDiscoveryRes"

# PICS options saying which security modes an SECC offers on SDP.
PICS_NO_TLS = "sdp.no_tls"
PICS_TLS = "sdp.tls"


def endpoint(address: str, port: int) -> str:
    """The ``source``/``destination`` string of an SDP peer: ``[address]:port`` (RFC 3986 form)."""
    return f"[{address}]:{port}"


def parse_endpoint(text: str) -> tuple[str, int]:
    address, _, port = text.rpartition(":")
    return address.strip("[]"), int(port)


def offered_security(supports: Callable[[str], bool]) -> tuple[int, ...]:
    """The security modes an SECC offers, from its PICS (``supports(key)``); none stated: no TLS."""
    offered = []
    if supports(PICS_NO_TLS):
        offered.append(SECURITY_NONE)
    if supports(PICS_TLS):
        offered.append(SECURITY_TLS)
    return tuple(offered) or (SECURITY_NONE,)


def requested_security(supports: Callable[[str], bool]) -> int:
    """What an EVCC asks for: TLS only when its PICS offer TLS and not plain TCP."""
    return SECURITY_TLS if supports(PICS_TLS) and not supports(PICS_NO_TLS) else SECURITY_NONE


def answered_security(requested: int, offered: tuple[int, ...]) -> int:
    """ISO 15118-2 7.10.1: the response states the security the SECC will use. A request for a mode it
    does not offer gets the one it does (no TLS before TLS)."""
    if requested in offered:
        return requested
    return SECURITY_NONE if SECURITY_NONE in offered else SECURITY_TLS


# --- SDP-only actions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Discovered:
    """The EVCC knows where to open its V2G TCP connection."""

    response: SeccDiscoveryRes


@dataclass(frozen=True, slots=True)
class GaveUp:
    reason: str


# --- the cores ----------------------------------------------------------------------------------------


class EvccSdp(TimedCore):
    """The EVCC's SDP client: on LinkUp send, wait ``response_wait_s``, resend, give up after
    ``max_requests``.

    A response is usable only if it offers the security and transport this EVCC asked for; anything
    else is ignored and the EVCC keeps retrying. ``accept_any_response`` lifts that (a tester takes
    whatever the SECC answers and lets the verdict judge it).
    """

    def __init__(
        self,
        security: int = SECURITY_NONE,
        transport: int = TRANSPORT_TCP,
        *,
        response_wait_s: float = SDP_RESPONSE_WAIT_S,
        max_requests: int = SDP_MAX_REQUESTS,
        destination: str = SDP_MULTICAST_ADDRESS,
        accept_any_response: bool = False,
    ) -> None:
        super().__init__()
        self.security = security
        self.transport = transport
        self.response_wait_s = response_wait_s
        self.max_requests = max_requests
        self.destination = destination
        self.accept_any_response = accept_any_response
        self.requests_sent = 0
        self.done = False

    def handle(self, event: object, now: float) -> list[Any]:
        if self.done:
            return []
        if isinstance(event, LinkUp):
            return self._send(now) if self.requests_sent == 0 else []
        if isinstance(event, TimerExpired):
            if not self.timers.fire(event.name, now):
                return []  # stale: cancelled or re-armed since
            if self.requests_sent >= self.max_requests:
                self.done = True
                return [GaveUp(f"no SECCDiscoveryRes after {self.requests_sent} requests")]
            return self._send(now)
        if isinstance(event, MessageReceived) and self._usable(event.message):
            self.done = True
            return [*self.timers.cancel(RETRY_TIMER), Discovered(event.message)]
        return []

    def _usable(self, message: object) -> bool:
        if not isinstance(message, SeccDiscoveryRes):
            return False
        if self.accept_any_response:
            return True
        return message.security == self.security and message.transport == self.transport

    def _send(self, now: float) -> list[Any]:
        self.requests_sent += 1
        return [
            Send(
                SeccDiscoveryReq(self.security, self.transport),
                REQUEST_NAME,
                endpoint(self.destination, SDP_SERVER_PORT),
            ),
            self.timers.start(RETRY_TIMER, now + self.response_wait_s),
        ]


class SeccSdp(TimedCore):
    """The SECC's SDP server: answer every valid TCP request, back to its sender, with this SECC's address
    and port and the security it will use (:func:`answered_security`). An SECC that serves TLS on a port of
    its own (``tls_port``) announces that one when it answers TLS.

    A datagram that did not decode is ignored (the EVCC will retry), unless ``answer_malformed``: then it
    is answered as a default request (a deliberately lax SECC, for broken-DUT demonstrations).
    """

    def __init__(
        self,
        address: ipaddress.IPv6Address,
        port: int,
        offered_security: tuple[int, ...] = (SECURITY_NONE,),
        *,
        answer_malformed: bool = False,
        tls_port: int | None = None,
    ) -> None:
        super().__init__()
        self.address = address
        self.port = port
        self.tls_port = tls_port
        self.offered_security = offered_security
        self.answer_malformed = answer_malformed
        self.responses_sent = 0

    def handle(self, event: object, now: float) -> list[Any]:
        if not isinstance(event, MessageReceived):
            return []
        message = event.message
        if isinstance(message, SdpDecodeError) and self.answer_malformed:
            message = SeccDiscoveryReq()
        if not isinstance(message, SeccDiscoveryReq) or message.transport != TRANSPORT_TCP:
            return []
        self.responses_sent += 1
        security = answered_security(message.security, self.offered_security)
        port = self.tls_port if security == SECURITY_TLS and self.tls_port else self.port
        response = SeccDiscoveryRes(self.address, port, security, TRANSPORT_TCP)
        return [Send(response, RESPONSE_NAME, event.source)]


# --- faults: selectors and transforms on SDP actions ---------------------------------------------------


def is_request(action: object) -> bool:
    return isinstance(action, Send) and action.name == REQUEST_NAME


def is_response(action: object) -> bool:
    return isinstance(action, Send) and action.name == RESPONSE_NAME


def _rewrite_response(change: Callable[[SeccDiscoveryRes], SeccDiscoveryRes]) -> Rewrite:
    return Rewrite(
        is_response, times=None, rewrite=lambda action: replace(action, message=change(action.message))
    )


def drop_responses(match: Callable[[object], bool] = is_response) -> Drop:
    """Never answer (``match`` narrows which answers are withheld)."""
    return Drop(match, times=None)


def wrong_security() -> Rewrite:
    """Answer with the security byte the EVCC did not ask for (TLS for none, none for TLS)."""
    return _rewrite_response(
        lambda response: replace(response, security=response.security ^ (SECURITY_NONE ^ SECURITY_TLS))
    )


def announce_port(port: int) -> Rewrite:
    """Announce ``port`` instead of the V2G server's."""
    return _rewrite_response(lambda response: replace(response, port=port))


def raw_requests(data: bytes) -> Rewrite:
    """Send ``data`` as it is in place of each request (a malformed one, crafted by a tester)."""
    return Rewrite(is_request, times=None, rewrite=lambda action: replace(action, message=data))


@dataclass
class OneAtATime(Delay):
    """Each matching action ``seconds`` late, one at a time: a server that works on one request for
    ``seconds`` before it answers, so a request arriving meanwhile waits for the previous answer."""

    busy_until: float = float("-inf")

    def apply(self, action: object, now: float) -> tuple[list[object], list[tuple[float, object]]]:
        self.busy_until = max(now, self.busy_until) + self.seconds
        return [], [(self.busy_until, action)]


def slow_responses(seconds: float) -> Fault:
    """Answer ``seconds`` late, one request after the other."""
    return OneAtATime(is_response, times=None, seconds=seconds)
