"""Events the DIN SPEC 70121 machines take and actions they return (h11 style, sans-I/O).

The generic vocabulary is the kernel's (:mod:`harness.protocol.core`): :class:`LinkUp` (the V2G TCP
connection is up, after SDP), :class:`MessageReceived` (a decoded message, a plain dict in the codec's
shape), :class:`TimerExpired`, :class:`LinkDown`, and the actions :class:`Send`, :class:`StartTimer`,
:class:`CancelTimer`, :class:`Close`. This module adds only what is DIN's own: a malformed frame
received or to be sent, a user's stop request, how a session ended, and the tester's observations.

The I/O adapter (or the in-memory simulation) feeds every event with the time it happened, in seconds on
a monotonic clock of its choosing, and carries out the returned actions in order. Nothing here reads a
clock, sleeps or touches a socket.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harness.protocol.core import (
    CancelTimer,
    Close,
    LinkDown,
    LinkUp,
    MessageReceived,
    Send,
    StartTimer,
    TimerExpired,
)
from harness.protocol.din70121.messages import message_name

# --- events -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MalformedReceived:
    """The peer sent bytes that did not decode (EXI or V2GTP error); ``reason`` says where."""

    reason: str


@dataclass(frozen=True, slots=True)
class StopRequested:
    """The EV's user (or the tester) asks the EVCC to end charging now."""

    reason: str = "user stop"


Event = LinkUp | MessageReceived | MalformedReceived | TimerExpired | LinkDown | StopRequested

# --- actions ------------------------------------------------------------------------------------------


def send(message: dict[str, Any]) -> Send:
    """The kernel action that sends a DIN (or supportedAppProtocol) message, named by its body element."""
    return Send(message, message_name(message))


@dataclass(frozen=True, slots=True)
class SendMalformed:
    """Fault marker: send bytes that cannot decode in place of ``message`` (the adapter corrupts the EXI
    of the encoded message as ``corruption`` says; in memory the peer gets MalformedReceived)."""

    message: dict[str, Any]
    corruption: str = "exi-header"

    @property
    def name(self) -> str:
        return message_name(self.message)


class StopResult(StrEnum):
    """How a session ended, from the point of view of the machine that stopped."""

    COMPLETED = "COMPLETED"  # SessionStop exchanged after a normal end
    TIMEOUT = "TIMEOUT"  # a DIN SPEC 70121 timer of Table 75/77 expired
    FAILED_RESPONSE = "FAILED_RESPONSE"  # the SECC answered with a FAILED* response code
    SEQUENCE_ERROR = "SEQUENCE_ERROR"  # a message arrived that the sequence does not allow
    UNKNOWN_SESSION = "UNKNOWN_SESSION"  # a SessionID did not match
    NEGOTIATION_FAILED = "NEGOTIATION_FAILED"  # supportedAppProtocol found no common protocol
    MALFORMED = "MALFORMED"  # the peer's bytes did not decode
    EVSE_SHUTDOWN = "EVSE_SHUTDOWN"  # the EVSE reported shutdown/emergency/StopCharging; session ended
    ISOLATION_FAULT = "ISOLATION_FAULT"  # CableCheck reported an isolation fault
    PARAMETER_ERROR = "PARAMETER_ERROR"  # the peer's parameters rule charging out
    CONNECTION_LOST = "CONNECTION_LOST"


@dataclass(frozen=True, slots=True)
class StopSession:
    """The machine is done. ``result`` classifies the end, ``reason`` explains it to a lab engineer."""

    result: StopResult
    reason: str


@dataclass(frozen=True, slots=True)
class Note:
    """An observation for the verdict (a tester's check): ``check`` names what was judged, ``ok`` its
    outcome, ``detail`` the evidence in words."""

    check: str
    ok: bool
    detail: str


Action = Send | SendMalformed | StartTimer | CancelTimer | Close | StopSession | Note
