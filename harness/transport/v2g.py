"""V2GTP over TCP, and the I/O adapter that runs a sans-I/O V2G session core on a connection.

:class:`V2gtpStream` frames bytes on an asyncio stream pair (ISO 15118-2 7.8.3 / DIN SPEC 70121 header,
lengths bounded so a hostile peer cannot make us buffer without limit). :func:`run_session` runs a core (a
DIN SPEC 70121 EVCC or SECC machine today) on the kernel's asyncio driver
(:class:`~harness.transport.driver.CoreDriver`): a reader task feeds it the decoded messages, decode
errors and the end of the connection, and the driver's timer feeds its expiries; the actions it returns
are carried out here (encode, send, close, record). The reference devices and the tester roles share it,
so a tester is the reference device plus faults.

The first message on a V2G connection is supportedAppProtocol; every later one uses the schema of the
protocol the two sides negotiated (DIN SPEC 70121 8.2 / ISO 15118-2 8.2), looked up from the namespace of
the offered AppProtocol the response's SchemaID names.  DIN SPEC 70121 and ISO 15118-2 carry all of
them in V2GTP payload type 0x8001.  ISO 15118-20 (Table 15; shared/REFERENCE.md section 4) sends its
common messages in 0x8002 and its DC messages in 0x8004 (AC 0x8003, ...): an outgoing frame gets the payload
type of its message's schema (which the -20 core names, ``message_schema``), an incoming one is decoded
with the schema its payload type names, and a payload type the negotiated protocol does not use is a
malformed frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable, Iterable
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
from harness.protocol.core import (
    Close,
    Core,
    LinkDown,
    LinkUp,
    MessageReceived,
    Send,
    TimerExpired,
    TimerTable,
)
from harness.protocol.din70121.events import MalformedReceived, Note, SendMalformed, StopResult, StopSession
from harness.protocol.din70121.faults import CORRUPTIONS, corrupt
from harness.protocol.din70121.messages import message_name
from harness.transport.driver import CoreDriver

# Largest V2GTP payload accepted on a DIN SPEC 70121 connection. DIN messages are a few hundred bytes;
# ISO 15118-2 certificate messages reach a few kB. Anything larger is a framing error, not a reason to
# buffer (ISO 15118-2 7.8.3.3 lets a receiver reject payloads it cannot hold).
MAX_PAYLOAD_BYTES = 64 * 1024
# The schema of the first message on a V2G connection (ISO 15118-2 8.2 / DIN SPEC 70121 8.2): the
# supportedAppProtocol handshake, before any protocol was negotiated.
APP_SCHEMA = "app"
# The schema of the later messages when the handshake named no namespace the codec knows: the one the
# session's core speaks (DIN SPEC 70121 for the machines of harness.protocol.din70121).
DIN_SCHEMA = "din"
# ISO 15118-20 Table 15: the V2GTP payload type each -20 schema's messages travel in (the codec's
# PAYLOAD_TYPE_SCHEMAS inverted); every other schema (supportedAppProtocol, DIN, ISO 15118-2) uses 0x8001.
SCHEMA_PAYLOAD_TYPES: dict[str, int] = {
    schema: payload_type
    for payload_type, schema in exi_codec.PAYLOAD_TYPE_SCHEMAS.items()
    if schema is not None
}
# The -20 schema every -20 session may use besides its energy-transfer one (ISO 15118-20 8.2: the
# CommonMessages namespace, payload type 0x8002).
ISO20_COMMON_SCHEMA = exi_codec.PAYLOAD_TYPE_SCHEMAS[PayloadType.EXI_ISO20_COMMON]


def preload_schemas(schemas: Iterable[str]) -> None:
    """Load the EXI grammars a session may use now (the handshake's and ``schemas``), so that the first
    message of the first session does not pay for it: ISO 15118-2's takes about 0.2 s to build, seconds
    on a loaded machine, which a peer's 2 s message timeout does not forgive."""
    for schema in (APP_SCHEMA, *schemas):
        exi_codec.grammar(schema)


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


def is_app_protocol(message: dict[str, Any]) -> bool:
    """Whether ``message`` is a supportedAppProtocolReq/Res (encoded with the handshake schema)."""
    return next(iter(message)).startswith("supportedAppProtocol")


def schema_of(
    message: dict[str, Any],
    session_schema: str = DIN_SCHEMA,
    message_schema: Callable[[str], str] | None = None,
) -> str:
    """The EXI schema ``message`` is encoded with on a connection whose session speaks ``session_schema``.

    An ISO 15118-20 session spans several schemas (CommonMessages and the energy-transfer one), so there the
    core's ``message_schema`` (message name -> schema) decides; DIN and ISO 15118-2 use one schema each."""
    if is_app_protocol(message):
        return APP_SCHEMA
    if session_schema in SCHEMA_PAYLOAD_TYPES:
        if message_schema is None:
            raise ValueError(
                f"an ISO 15118-20 session ({session_schema}) needs the core's message_schema to encode "
                f"{message_name(message)}"
            )
        return message_schema(message_name(message))
    return session_schema


def payload_type_of(schema: str) -> int:
    """The V2GTP payload type a message encoded with ``schema`` travels in (ISO 15118-20 Table 15)."""
    return SCHEMA_PAYLOAD_TYPES.get(schema, PayloadType.EXI)


def received_schema(payload_type: int, session_schema: str, first: bool) -> str:
    """The schema to decode a received frame of ``payload_type`` with, on a connection whose negotiated
    session schema is ``session_schema`` (``first``: the connection's first frame, supportedAppProtocol).
    ValueError, with the reason, for a payload type that carries no EXI or not this session's."""
    if payload_type not in exi_codec.PAYLOAD_TYPE_SCHEMAS:
        raise ValueError(f"V2GTP payload type 0x{payload_type:04X}")
    if first or session_schema not in SCHEMA_PAYLOAD_TYPES:
        # supportedAppProtocol, DIN SPEC 70121 and ISO 15118-2 all go in 0x8001 (ISO 15118-20 Table 15).
        if payload_type != PayloadType.EXI:
            what = "supportedAppProtocol" if first else f"the negotiated {session_schema}"
            raise ValueError(
                f"V2GTP payload type 0x{payload_type:04X} ({exi_codec.PAYLOAD_TYPE_SCHEMAS[payload_type]}) "
                f"where {what} uses 0x{PayloadType.EXI:04X}"
            )
        return APP_SCHEMA if first else session_schema
    allowed = {SCHEMA_PAYLOAD_TYPES[ISO20_COMMON_SCHEMA], SCHEMA_PAYLOAD_TYPES[session_schema]}
    if payload_type not in allowed:
        names = " or ".join(f"0x{value:04X}" for value in sorted(allowed))
        raise ValueError(
            f"V2GTP payload type 0x{payload_type:04X} in an ISO 15118-20 session negotiated as "
            f"{session_schema}, which uses {names}"
        )
    return str(exi_codec.PAYLOAD_TYPE_SCHEMAS[payload_type])


@dataclass
class AppProtocolNegotiation:
    """The schema of a V2G connection after supportedAppProtocol, from what went over it in either direction:
    the namespaces the request offered by SchemaID, and the SchemaID a successful response chose
    (ISO 15118-2 8.2 / DIN SPEC 70121 8.2). Until then, and when the choice names no namespace the codec
    knows (or offers disagree on it), the session is in ``default``."""

    default: str = DIN_SCHEMA
    offered: dict[int, set[str]] = field(default_factory=dict)
    chosen: str | None = None

    @property
    def schema(self) -> str:
        return self.chosen or self.default

    def observe(self, message: dict[str, Any]) -> None:
        content = message.get("supportedAppProtocolReq")
        if isinstance(content, dict):
            offers = content.get("AppProtocol", [])
            for offer in [offers] if isinstance(offers, dict) else offers:
                with contextlib.suppress(AttributeError, KeyError, TypeError, ValueError):
                    schema = exi_codec.NAMESPACE_SCHEMAS.get(str(offer["ProtocolNamespace"]))
                    if schema is not None:
                        self.offered.setdefault(int(offer["SchemaID"]), set()).add(schema)
            return
        content = message.get("supportedAppProtocolRes")
        if isinstance(content, dict) and str(content.get("ResponseCode", "")).startswith("OK"):
            schemas = self.offered.get(content.get("SchemaID", -1), set())
            self.chosen = next(iter(schemas)) if len(schemas) == 1 else None


def encode_action(
    action: Send | SendMalformed,
    session_schema: str = DIN_SCHEMA,
    message_schema: Callable[[str], str] | None = None,
) -> bytes:
    """The V2GTP frame bytes for a send action (faulty ones corrupted as the action says), in the payload
    type of the message's schema."""
    schema = schema_of(action.message, session_schema, message_schema)
    payload = exi_codec.encode(schema, action.message)
    payload_type = payload_type_of(schema)
    if isinstance(action, Send):
        return encode_v2gtp(payload_type, payload)
    if action.corruption == "v2gtp-version":
        # The inverse byte stays 0xFE, so the frame still reads as (defective) V2GTP.
        return encode_v2gtp(payload_type, payload, version=_BAD_VERSION, inverse_version=0xFE)
    if action.corruption == "truncated-v2gtp":
        return encode_v2gtp(payload_type, payload)[: V2GTP_HEADER_LENGTH + max(1, len(payload) // 2)]
    if action.corruption in CORRUPTIONS:
        return encode_v2gtp(payload_type, corrupt(payload, action.corruption))
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


class _Guarded:
    """``core`` with its exceptions handed to ``failed`` (they end the session with that exception) instead of
    escaping into the event loop, where a timer callback's error would only be logged."""

    def __init__(self, core: Core, failed: Callable[[BaseException], None]) -> None:
        self.core = core
        self.failed = failed

    def handle(self, event: Any, now: float) -> list[Any]:
        try:
            return self.core.handle(event, now)
        except Exception as exc:
            self.failed(exc)
            return []

    def next_deadline(self) -> float | None:
        return self.core.next_deadline()

    def due_timers(self, now: float) -> list[str]:
        return self.core.due_timers(now)

    @property
    def timers(self) -> TimerTable | None:
        """The core's timer table, so the driver can count a timer from the request on the wire."""
        return getattr(self.core, "timers", None)


async def run_session(
    core: Core,
    stream: V2gtpStream,
    *,
    clock: Callable[[], float] | None = None,
    outcome: SessionOutcome | None = None,
    linger_s: float = 0.0,
    schema: str = DIN_SCHEMA,
    message_schema: Callable[[str], str] | None = None,
) -> SessionOutcome:
    """Run ``core`` on ``stream`` until it stops (a StopSession action) or the connection ends.

    The first frame each side receives is decoded as supportedAppProtocol, every later one with the schema
    the handshake negotiated (``schema`` when it named none the codec knows); in an ISO 15118-20 session
    with the schema its payload type names, and ``message_schema`` (the -20 core's message name -> schema)
    picks the schema and payload type of what is sent. After the core stopped, the connection is kept for
    ``linger_s`` (so a peer's last message is still read) unless the core closed it.
    """
    loop = asyncio.get_running_loop()
    outcome = outcome or SessionOutcome()
    negotiation = AppProtocolNegotiation(schema)
    stopped: asyncio.Future[None] = loop.create_future()
    closed = False

    def finish(result: StopSession) -> None:
        outcome.result = result
        driver.close()  # a stopped core gets no more events or timers (held faults stay unsent)
        if not stopped.done():
            stopped.set_result(None)

    def failed(exc: BaseException) -> None:
        driver.close()
        if not stopped.done():
            stopped.set_exception(exc)

    def record(direction: str, name: str, message: dict[str, Any] | None = None, detail: str = "") -> None:
        outcome.records.append(SessionRecord(driver.now(), direction, name, message, detail))

    def perform(action: Any) -> None:
        nonlocal closed
        if isinstance(action, Send | SendMalformed):
            if closed:
                return
            stream.write_raw(encode_action(action, negotiation.schema, message_schema))
            if isinstance(action, Send):
                negotiation.observe(action.message)
                record("sent", action.name, action.message)
            else:
                record("malformed", action.name, action.message, action.corruption)
        elif isinstance(action, ResetConnection):
            if not closed:
                closed = True
                stream.reset()
                record("reset", "TCP RST", None, action.reason)
            finish(StopSession(StopResult.CONNECTION_LOST, action.reason))
        elif isinstance(action, Close):
            if not closed:
                closed = True
                stream.close()
        elif isinstance(action, StopSession):
            finish(action)
        elif isinstance(action, Note):
            record("note", action.check, None, f"{'ok' if action.ok else 'NOT OK'}: {action.detail}")
        # StartTimer/CancelTimer: the driver reads the deadlines from the core itself.

    def perform_or_fail(action: Any) -> None:
        try:
            perform(action)
        except Exception as exc:
            failed(exc)

    def observe(event: Any, now: float) -> None:
        if isinstance(event, TimerExpired):
            outcome.records.append(SessionRecord(now, "timer", event.name))

    def lost(reason: str) -> None:
        if stopped.done():
            return
        outcome.closed_by_peer = True
        driver.feed(LinkDown(reason))
        if not stopped.done():  # a core that ignores the loss still ends here
            finish(StopSession(StopResult.CONNECTION_LOST, reason))

    async def read() -> None:
        received = 0
        while True:
            try:
                frame = await stream.read_frame()
            except V2gtpClosed as exc:
                lost(str(exc))
                return
            except V2gtpDecodeError as exc:
                driver.feed(MalformedReceived(f"V2GTP: {exc}"))
                return
            except (ConnectionError, OSError) as exc:
                lost(f"connection error: {exc}")
                return
            first = received == 0
            received += 1
            try:
                session_schema = received_schema(frame.payload_type, negotiation.schema, first)
            except ValueError as exc:
                driver.feed(MalformedReceived(str(exc)))
                continue
            try:
                message = exi_codec.decode(session_schema, frame.payload)
            except exi_codec.DecodeError as exc:
                offset = getattr(exc, "offset_bits", None)
                driver.feed(MalformedReceived(f"EXI ({session_schema}) at bit {offset}: {exc}"))
                continue
            negotiation.observe(message)
            record("received", message_name(message), message)
            driver.feed(MessageReceived(message))
            if not closed:
                with contextlib.suppress(ConnectionError):
                    await stream.drain()  # flow control; a lost connection shows on the next read

    # A timer the core starts with a request counts from that request on the wire (timers_from_perform): a
    # process descheduled between deciding and writing would otherwise time out its own request at once.
    driver = CoreDriver(
        _Guarded(core, failed),
        perform_or_fail,
        clock=clock or loop.time,
        observe=observe,
        timers_from_perform=True,
    )
    reader_task = asyncio.ensure_future(read())
    try:
        driver.feed(LinkUp())
        await stopped
        if not closed:
            with contextlib.suppress(ConnectionError):
                await stream.drain()
            if linger_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(reader_task), linger_s)
    finally:
        driver.release()
        reader_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader_task
        if not closed:
            stream.close()
    return outcome
