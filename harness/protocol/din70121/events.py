"""Events the DIN SPEC 70121 machines take and actions they return (h11 style, sans-I/O).

The I/O adapter (or the in-memory simulation) feeds every event with the time it happened, in seconds on
a monotonic clock of its choosing, and carries out the returned actions in order. Nothing here reads a
clock, sleeps or touches a socket.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harness.protocol.din70121.messages import message_name

# --- events -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectionOpened:
    """The V2G TCP connection is up (after SDP): the EVCC starts talking, the SECC starts waiting."""


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A decoded message from the peer (plain dict, codec shape)."""

    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class MalformedReceived:
    """The peer sent bytes that did not decode (EXI or V2GTP error); ``reason`` says where."""

    reason: str


@dataclass(frozen=True, slots=True)
class TimerExpired:
    name: str


@dataclass(frozen=True, slots=True)
class ConnectionLost:
    reason: str


@dataclass(frozen=True, slots=True)
class StopRequested:
    """The EV's user (or the tester) asks the EVCC to end charging now."""

    reason: str = "user stop"


Event = ConnectionOpened | MessageReceived | MalformedReceived | TimerExpired | ConnectionLost | StopRequested

# --- actions ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendMessage:
    """Encode and send ``message`` to the peer."""

    message: dict[str, Any]

    @property
    def name(self) -> str:
        return message_name(self.message)


@dataclass(frozen=True, slots=True)
class SendMalformed:
    """Fault marker: send bytes that cannot decode in place of ``message`` (the adapter corrupts the EXI
    of the encoded message as ``corruption`` says; in memory the peer gets MalformedReceived)."""

    message: dict[str, Any]
    corruption: str = "exi-header"

    @property
    def name(self) -> str:
        return message_name(self.message)


@dataclass(frozen=True, slots=True)
class StartTimer:
    """(Re)arm the named timer to fire at ``deadline``; a running timer of that name is replaced."""

    name: str
    deadline: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    name: str


@dataclass(frozen=True, slots=True)
class CloseConnection:
    reason: str


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


Action = SendMessage | SendMalformed | StartTimer | CancelTimer | CloseConnection | StopSession | Note
