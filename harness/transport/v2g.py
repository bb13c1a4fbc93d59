"""V2GTP over TCP, and the I/O adapter that runs a sans-I/O DIN SPEC 70121 machine on a connection.

:class:`V2gtpStream` frames bytes on an asyncio stream pair (ISO 15118-2 7.8.3 / DIN SPEC 70121 header,
lengths bounded so a hostile peer cannot make us buffer without limit). :func:`run_session` feeds a
machine's events from the connection and its timers from the event loop's clock, and carries out the
actions it returns (encode, send, arm timers, close). The reference devices and the tester roles share
it, so a tester is the reference device plus faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.codec.v2g import exi_codec
from harness.codec.v2g.v2gtp import (
    V2GTP_HEADER_LENGTH,
    PayloadType,
    V2gtpDecodeError,
    V2gtpFrame,
    decode_v2gtp_header,
    encode_v2gtp,
)
from harness.protocol.din70121.events import (
    Action,
    CancelTimer,
    CloseConnection,
    ConnectionLost,
    ConnectionOpened,
    Event,
    MalformedReceived,
    MessageReceived,
    Note,
    SendMalformed,
    SendMessage,
    StartTimer,
    StopResult,
    StopSession,
    TimerExpired,
)
from harness.protocol.din70121.faults import CORRUPTIONS, Machine, corrupt
from harness.protocol.din70121.messages import message_name

# Largest V2GTP payload accepted on a DIN SPEC 70121 connection. DIN messages are a few hundred bytes;
# ISO 15118-2 certificate messages reach a few kB. Anything larger is a framing error, not a reason to
# buffer (ISO 15118-2 7.8.3.3 lets a receiver reject payloads it cannot hold).
MAX_PAYLOAD_BYTES = 64 * 1024
# The schema of the first message on a V2G connection (ISO 15118-2 8.2 / DIN SPEC 70121 8.2): the
# supportedAppProtocol handshake, before any protocol was negotiated.
APP_SCHEMA = "app"
DIN_SCHEMA = "din"
# Transport-level corruptions a fault may ask for, beyond the EXI ones of faults.CORRUPTIONS: a
# V2GTP header with a wrong protocol version, and a frame whose payload stops half way (the header
# announces more bytes than follow).
V2GTP_CORRUPTIONS = ("v2gtp-version", "truncated-v2gtp")
_BAD_VERSION = 0x02


@dataclass(frozen=True, slots=True)
class ResetConnection:
    """Transport fault action (not a protocol action): abort the connection with a TCP RST in place of
    what the machine wanted to send, then end the session as CONNECTION_LOST."""

    reason: str = "TCP reset (fault)"


class V2gtpClosed(ConnectionError):
    """The peer closed the connection (EOF between frames or inside one)."""


class V2gtpStream:
    """V2GTP frames over one TCP connection."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        max_payload: int = MAX_PAYLOAD_BYTES,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.max_payload = max_payload
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # A V2G request/response exchange is one small segment each way: Nagle's delay would eat the
            # SECC's 25 ms CurrentDemand budget (DIN SPEC 70121 Table 75).
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def read_frame(self) -> V2gtpFrame:
        """The next complete frame; V2gtpDecodeError for a bad header, V2gtpClosed at EOF."""
        try:
            header = await self.reader.readexactly(V2GTP_HEADER_LENGTH)
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                raise V2gtpDecodeError(len(exc.partial), "connection closed inside a V2GTP header") from None
            raise V2gtpClosed("peer closed the connection") from None
        version, inverse, payload_type, length = decode_v2gtp_header(header)
        if length > self.max_payload:
            raise V2gtpDecodeError(4, f"payload length {length} beyond the {self.max_payload} accepted")
        try:
            payload = await self.reader.readexactly(length)
        except asyncio.IncompleteReadError as exc:
            raise V2gtpDecodeError(
                V2GTP_HEADER_LENGTH + len(exc.partial),
                f"connection closed after {len(exc.partial)} of {length} payload bytes",
            ) from None
        return V2gtpFrame(payload_type, payload, version, inverse)

    def write_frame(self, payload: bytes, payload_type: int = PayloadType.EXI) -> None:
        self.writer.write(encode_v2gtp(payload_type, payload))

    def write_raw(self, data: bytes) -> None:
        self.writer.write(data)

    async def drain(self) -> None:
        await self.writer.drain()

    def close(self) -> None:
        self.writer.close()

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), as a crashing peer would."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


def schema_of(message: dict[str, Any]) -> str:
    """The EXI schema a message of a DIN session is encoded with."""
    return APP_SCHEMA if next(iter(message)).startswith("supportedAppProtocol") else DIN_SCHEMA


def encode_action(action: SendMessage | SendMalformed) -> bytes:
    """The V2GTP frame bytes for a send action (faulty ones corrupted as the action says)."""
    payload = exi_codec.encode(schema_of(action.message), action.message)
    if isinstance(action, SendMessage):
        return encode_v2gtp(PayloadType.EXI, payload)
    if action.corruption == "v2gtp-version":
        # The inverse byte stays 0xFE, so the frame still reads as (defective) V2GTP.
        return encode_v2gtp(PayloadType.EXI, payload, version=_BAD_VERSION, inverse_version=0xFE)
    if action.corruption == "truncated-v2gtp":
        return encode_v2gtp(PayloadType.EXI, payload)[: V2GTP_HEADER_LENGTH + max(1, len(payload) // 2)]
    if action.corruption in CORRUPTIONS:
        return encode_v2gtp(PayloadType.EXI, corrupt(payload, action.corruption))
    raise ValueError(f"unknown corruption {action.corruption!r}")


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """What a session driver saw, for the tester's own bookkeeping (verdicts come from the capture)."""

    t: float
    direction: str  # "sent" | "received" | "malformed" | "note" | "timer" | "reset"
    name: str
    message: dict[str, Any] | None = None
    detail: str = ""


@dataclass
class SessionOutcome:
    result: StopSession | None = None
    records: list[SessionRecord] = field(default_factory=list)
    closed_by_peer: bool = False

    def names(self, direction: str) -> list[str]:
        return [r.name for r in self.records if r.direction == direction]

    @property
    def notes(self) -> list[SessionRecord]:
        return [r for r in self.records if r.direction == "note"]


async def run_session(
    machine: Machine,
    stream: V2gtpStream,
    *,
    clock: Callable[[], float] | None = None,
    outcome: SessionOutcome | None = None,
    linger_s: float = 0.0,
) -> SessionOutcome:
    """Run ``machine`` on ``stream`` until it stops or the connection ends.

    The first frame each side receives is decoded as supportedAppProtocol, every later one as DIN SPEC
    70121 (the machines negotiate nothing else). After the machine stopped, the connection is kept for
    ``linger_s`` (so a peer's last message is still read) unless the machine closed it.
    """
    loop = asyncio.get_running_loop()
    now = clock or loop.time
    outcome = outcome or SessionOutcome()
    timers: dict[str, float] = {}
    inbox: asyncio.Queue[Event] = asyncio.Queue()
    received = 0
    closed = False

    async def pump() -> None:
        nonlocal received
        while True:
            try:
                frame = await stream.read_frame()
            except V2gtpClosed as exc:
                await inbox.put(ConnectionLost(str(exc)))
                return
            except V2gtpDecodeError as exc:
                await inbox.put(MalformedReceived(f"V2GTP: {exc}"))
                return
            except (ConnectionError, OSError) as exc:
                await inbox.put(ConnectionLost(f"connection error: {exc}"))
                return
            schema = APP_SCHEMA if received == 0 else DIN_SCHEMA
            received += 1
            if frame.payload_type != PayloadType.EXI:
                await inbox.put(MalformedReceived(f"V2GTP payload type 0x{frame.payload_type:04X}"))
                continue
            try:
                message = exi_codec.decode(schema, frame.payload)
            except exi_codec.DecodeError as exc:
                offset = getattr(exc, "offset_bits", None)
                await inbox.put(MalformedReceived(f"EXI ({schema}) at bit {offset}: {exc}"))
                continue
            outcome.records.append(SessionRecord(now(), "received", message_name(message), message))
            await inbox.put(MessageReceived(message))

    def execute(actions: list[Action | ResetConnection]) -> bool:
        """Carry out actions; True once the machine stopped."""
        nonlocal closed
        stopped = False
        for action in actions:
            if isinstance(action, SendMessage | SendMalformed):
                if closed:
                    continue
                stream.write_raw(encode_action(action))
                kind = "sent" if isinstance(action, SendMessage) else "malformed"
                detail = "" if isinstance(action, SendMessage) else action.corruption
                outcome.records.append(SessionRecord(now(), kind, action.name, action.message, detail))
            elif isinstance(action, ResetConnection):
                if not closed:
                    closed = True
                    stream.reset()
                    outcome.records.append(SessionRecord(now(), "reset", "TCP RST", None, action.reason))
                outcome.result = StopSession(StopResult.CONNECTION_LOST, action.reason)
                stopped = True
            elif isinstance(action, StartTimer):
                timers[action.name] = action.deadline
            elif isinstance(action, CancelTimer):
                timers.pop(action.name, None)
            elif isinstance(action, CloseConnection):
                if not closed:
                    closed = True
                    stream.close()
            elif isinstance(action, StopSession):
                outcome.result = action
                stopped = True
            elif isinstance(action, Note):
                outcome.records.append(
                    SessionRecord(
                        now(),
                        "note",
                        action.check,
                        None,
                        f"{'ok' if action.ok else 'NOT OK'}: {action.detail}",
                    )
                )
        return stopped

    reader_task = asyncio.ensure_future(pump())
    try:
        stopped = execute(machine.handle(ConnectionOpened(), now()))
        while not stopped:
            if not closed:
                await stream.drain()
            deadline = min(timers.values(), default=None)
            timeout = None if deadline is None else max(0.0, deadline - now())
            try:
                event = await asyncio.wait_for(inbox.get(), timeout)
            except TimeoutError:
                name = min(timers, key=timers.__getitem__)
                del timers[name]
                outcome.records.append(SessionRecord(now(), "timer", name))
                event = TimerExpired(name)
            if isinstance(event, ConnectionLost):
                outcome.closed_by_peer = True
            stopped = execute(machine.handle(event, now()))
            if isinstance(event, ConnectionLost) and not stopped:
                outcome.result = StopSession(StopResult.CONNECTION_LOST, event.reason)
                break
        if not closed:
            with contextlib.suppress(ConnectionError):
                await stream.drain()
            if linger_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(reader_task), linger_s)
    finally:
        reader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader_task
        if not closed:
            stream.close()
    return outcome
