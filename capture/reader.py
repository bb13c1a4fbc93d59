"""pcap/pcapng -> timeline: decoded messages with wire timestamps, link events and decode errors.

One function serves the live run and `vgi analyze`, so a verdict can be derived again from the
capture alone.  Frames of no interest (neighbour discovery, MLD, ...) are left out of the timeline;
every frame that belongs to a protocol under test is in it, decodable or not.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capture.timeline import Timeline, TimelineEvent
from harness.codec.homeplug import SLAC_MMTYPES, HomePlugDecodeError, decode_slac, mme_type
from harness.codec.mdns import MDNS_PORT
from harness.codec.mdns import summarise as summarise_mdns
from harness.codec.v2g.sdp import SDP_SERVER_PORT, SdpDecodeError, decode_sdp
from harness.codec.v2g.v2gtp import V2GTP_HEADER_LENGTH, V2gtpDecodeError, decode_v2gtp_header

# Bytes of a bad frame kept in the timeline, enough to see what went wrong without bloating it.
RAW_EXCERPT_BYTES = 64
# A V2GTP payload longer than this is treated as a framing error rather than buffered: no V2G
# message comes near it (ISO 15118-20 certificate chains are a few kB).
MAX_V2GTP_PAYLOAD = 1 << 20


class CaptureReadError(RuntimeError):
    pass


@dataclass
class _V2gConnection:
    """What both directions of one V2G TCP connection share: the supportedAppProtocol negotiation that
    decides the schema of the later 0x8001 payloads (ISO 15118-2 8.2 / DIN SPEC 70121 8.2)."""

    offered: dict[int, str] = field(default_factory=dict)  # SchemaID -> ProtocolNamespace
    schema: str | None = None  # negotiated schema; None while the handshake is pending
    messages: int = 0


@dataclass
class _TcpStream:
    buffer: bytearray = field(default_factory=bytearray)
    next_seq: int | None = None
    broken: bool = False
    connection: _V2gConnection | None = None
    started: bool = False  # the first payload byte of this direction was seen


def read_timeline(path: Path) -> Timeline:
    """Decode every frame of interest in a pcap or pcapng file."""
    # The layers must be bound before the first packet is dissected, or everything reads as Raw.
    import scapy.layers.inet6  # noqa: F401
    import scapy.layers.l2  # noqa: F401
    from scapy.error import Scapy_Exception
    from scapy.utils import PcapReader

    import harness.codec.homeplug  # noqa: F401  (binds the SLAC layers scapy lacks)

    try:
        reader = PcapReader(str(path))
    except (OSError, Scapy_Exception) as exc:
        raise CaptureReadError(f"cannot read capture {path}: {exc}") from None
    events: list[TimelineEvent] = []
    streams: dict[tuple, _TcpStream] = {}
    with reader:
        for number, packet in enumerate(reader, start=1):
            events.extend(_decode_packet(packet, number, streams))
    return _with_decrypted(path, events)


def _with_decrypted(path: Path, events: Timeline) -> Timeline:
    """Merge the decrypted IEEE 2030.5 HTTP/TLS events in frame order when the capture's NSS key
    log (``<capture stem>.keys``) lies beside it (capture/tls_http.py)."""
    from capture.tls_http import TsharkUnavailable, keylog_for, read_tls_http

    keylog = keylog_for(Path(path))
    if not keylog.exists():
        return events
    try:
        decrypted = read_tls_http(Path(path), keylog)
    except (TsharkUnavailable, OSError, ValueError, subprocess.SubprocessError) as exc:
        raise CaptureReadError(f"cannot decrypt {path} with {keylog}: {exc}") from None
    return sorted([*events, *decrypted], key=lambda e: e.frame)


def _decode_packet(packet: Any, number: int, streams: dict[tuple, _TcpStream]) -> list[TimelineEvent]:
    from scapy.layers.inet import TCP, UDP
    from scapy.layers.inet6 import IPv6

    t = float(packet.time)
    frame = bytes(packet)
    lab_link = _lab_link_events(packet, frame, t, number)
    if lab_link is not None:
        return lab_link
    mmtype = mme_type(frame)
    if mmtype is not None:
        return [_homeplug_event(frame, mmtype, t, number)]
    if IPv6 not in packet:
        return []
    ip = packet[IPv6]
    src, dst = ip.src, ip.dst
    if UDP in packet:
        udp = packet[UDP]
        if MDNS_PORT in (udp.sport, udp.dport):
            return [_mdns_event(bytes(udp.payload), t, number, src, dst, udp.sport, udp.dport)]
        if SDP_SERVER_PORT not in (udp.sport, udp.dport):
            return []
        return [_sdp_event(bytes(udp.payload), t, number, src, dst, udp.sport, udp.dport)]
    if TCP in packet:
        return _tcp_events(packet[TCP], t, number, src, dst, streams)
    return []


def _homeplug_event(frame: bytes, mmtype: int, t: float, number: int) -> TimelineEvent:
    if mmtype not in SLAC_MMTYPES:
        # Vendor-specific and other HomePlug management frames: on the timeline, not judged.
        return TimelineEvent(
            t, number, _mac(frame[6:12]), _mac(frame[0:6]), "HomePlug", f"MMTYPE 0x{mmtype:04X}"
        )
    try:
        message = decode_slac(frame)
    except HomePlugDecodeError as exc:
        src, dst = _mac(frame[6:12]), _mac(frame[0:6])
        return TimelineEvent(
            t,
            number,
            src,
            dst,
            "SLAC",
            "malformed",
            {"offset": exc.offset, "raw": frame[:RAW_EXCERPT_BYTES].hex()},
            exc.reason,
        )
    return TimelineEvent(t, number, message.src, message.dst, "SLAC", message.name, message.fields)


# UDP echo (RFC 862): the embedded lab's reference link-layer devices answer it, so a tester proves
# from the capture whether IP crosses the (emulated) PLC link.
UDP_ECHO_PORT = 7


def _lab_link_events(packet: Any, frame: bytes, t: float, number: int) -> list[TimelineEvent] | None:
    """Simulated pilot records (ethertype 0x88B5, protocol PILOT) and UDP echo link probes (protocol
    ECHO); None for any other frame.  Pilot record format: harness.codec.pilot."""
    from scapy.layers.inet import UDP
    from scapy.layers.inet6 import IPv6

    from harness.codec.pilot import (
        ETHERTYPE_PILOT_RECORD,
        PilotRecordError,
        decode_pilot_record,
        decode_stp_cpstate,
    )

    stp = decode_stp_cpstate(frame)
    if stp is not None:  # a commercial tester's pilot event (vendor MME), see harness.codec.pilot
        return [TimelineEvent(t, number, _mac(frame[6:12]), _mac(frame[0:6]), "PILOT", "CpState", stp)]
    if len(frame) >= 14 and int.from_bytes(frame[12:14], "big") == ETHERTYPE_PILOT_RECORD:
        src, dst = _mac(frame[6:12]), _mac(frame[0:6])
        try:
            record = decode_pilot_record(frame[14:])
        except PilotRecordError as exc:
            return [
                TimelineEvent(t, number, src, dst, "PILOT", "malformed", {"raw": frame[:64].hex()}, str(exc))
            ]
        message = "EvseOutput" if record.side == 1 else "VehicleState"
        return [TimelineEvent(t, number, src, dst, "PILOT", message, record.fields())]
    if IPv6 in packet and UDP in packet and UDP_ECHO_PORT in (packet[UDP].sport, packet[UDP].dport):
        udp = packet[UDP]
        message = "request" if udp.dport == UDP_ECHO_PORT else "reply"
        fields = {"length": len(bytes(udp.payload)), "payload": bytes(udp.payload)[:32].hex()}
        return [
            TimelineEvent(
                t,
                number,
                packet[IPv6].src,
                packet[IPv6].dst,
                "ECHO",
                message,
                fields,
                None,
                udp.sport,
                udp.dport,
            )
        ]
    return None


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _mdns_event(
    data: bytes, t: float, number: int, src: str, dst: str, sport: int, dport: int
) -> TimelineEvent:
    """IEEE 2030.5 discovery (DNS-SD over mDNS, harness/codec/mdns.py): a query or a response."""
    try:
        message, fields = summarise_mdns(data)
    except ValueError as exc:
        fields = {"offset": 0, "raw": data[:RAW_EXCERPT_BYTES].hex(), "length": len(data)}
        return TimelineEvent(t, number, src, dst, "MDNS", "malformed", fields, str(exc), sport, dport)
    return TimelineEvent(t, number, src, dst, "MDNS", message, fields, None, sport, dport)


def _sdp_event(
    data: bytes, t: float, number: int, src: str, dst: str, sport: int, dport: int
) -> TimelineEvent:
    try:
        message = decode_sdp(data)
    except SdpDecodeError as exc:
        return TimelineEvent(
            t,
            number,
            src,
            dst,
            "SDP",
            "malformed",
            {"offset": exc.offset, "raw": data[:RAW_EXCERPT_BYTES].hex(), "length": len(data)},
            exc.reason,
            sport,
            dport,
        )
    return TimelineEvent(
        t,
        number,
        src,
        dst,
        "SDP",
        type(message).__name__.replace("Secc", "SECC"),
        message.fields(),
        None,
        sport,
        dport,
    )


_TCP_FLAG_EVENTS = (("R", "RST"), ("F", "FIN"))
_SEQ_MASK = 0xFFFFFFFF


def _tcp_events(
    tcp: Any, t: float, number: int, src: str, dst: str, streams: dict[tuple, _TcpStream]
) -> list[TimelineEvent]:
    flags = str(tcp.flags)
    events: list[TimelineEvent] = []
    key = (src, tcp.sport, dst, tcp.dport)
    if "S" in flags:
        name = "SYN-ACK" if "A" in flags else "SYN"
        events.append(TimelineEvent(t, number, src, dst, "TCP", name, {}, None, tcp.sport, tcp.dport))
        streams[key] = _TcpStream(next_seq=(tcp.seq + 1) & _SEQ_MASK)
        return events
    payload = bytes(tcp.payload)
    if payload:
        events.extend(_v2gtp_events(payload, tcp.seq, t, number, src, dst, tcp.sport, tcp.dport, streams))
    if "F" in flags or "R" in flags:
        events.extend(_unfinished_frame(streams.get(key), t, number, src, dst, tcp.sport, tcp.dport))
    for flag, name in _TCP_FLAG_EVENTS:
        if flag in flags:
            events.append(TimelineEvent(t, number, src, dst, "TCP", name, {}, None, tcp.sport, tcp.dport))
    return events


def _unfinished_frame(
    stream: _TcpStream | None, t: float, number: int, src: str, dst: str, sport: int, dport: int
) -> list[TimelineEvent]:
    """A sender that closes with part of a V2GTP frame unsent sent a truncated frame (ISO 15118-2 7.8.3)."""
    if stream is None or stream.broken or not stream.buffer:
        return []
    stream.broken = True
    pending = bytes(stream.buffer)
    return [
        TimelineEvent(
            t,
            number,
            src,
            dst,
            "V2GTP",
            "malformed",
            {"offset": len(pending), "raw": pending[:RAW_EXCERPT_BYTES].hex(), "length": len(pending)},
            f"connection closed with an incomplete V2GTP frame ({len(pending)} bytes buffered)",
            sport,
            dport,
        )
    ]


def _v2gtp_events(
    payload: bytes,
    seq: int,
    t: float,
    number: int,
    src: str,
    dst: str,
    sport: int,
    dport: int,
    streams: dict[tuple, _TcpStream],
) -> list[TimelineEvent]:
    stream = streams.setdefault((src, sport, dst, dport), _TcpStream())
    if stream.broken:
        return []
    if stream.next_seq is None:  # the capture started mid-connection
        stream.next_seq = seq
    if seq != stream.next_seq:
        behind = (stream.next_seq - seq) & _SEQ_MASK
        if behind >= 1 << 31:  # ahead of what we have: bytes are missing from the capture
            stream.broken = True
            return [
                TimelineEvent(
                    t,
                    number,
                    src,
                    dst,
                    "TCP",
                    "gap",
                    {"expected_seq": stream.next_seq, "seq": seq},
                    "bytes missing from the capture; decoding of this stream stops",
                    sport,
                    dport,
                )
            ]
        payload = payload[behind:]  # a retransmission: keep only what is new
    stream.next_seq = (stream.next_seq + len(payload)) & _SEQ_MASK
    if stream.broken or not payload:
        return []
    if not stream.started:
        stream.started = True
        if _foreign_stream(payload, streams.get((dst, dport, src, sport))):
            stream.broken = True
            return [
                TimelineEvent(
                    t,
                    number,
                    src,
                    dst,
                    "TCP",
                    "non-V2GTP stream",
                    {"raw": payload[:RAW_EXCERPT_BYTES].hex()},
                    None,
                    sport,
                    dport,
                )
            ]
    stream.buffer.extend(payload)
    events = []
    while len(stream.buffer) >= V2GTP_HEADER_LENGTH:
        try:
            _, _, payload_type, length = decode_v2gtp_header(bytes(stream.buffer[:V2GTP_HEADER_LENGTH]))
            if length > MAX_V2GTP_PAYLOAD:
                raise V2gtpDecodeError(4, f"payload length {length} beyond {MAX_V2GTP_PAYLOAD}")
        except V2gtpDecodeError as exc:
            stream.broken = True
            events.append(
                TimelineEvent(
                    t,
                    number,
                    src,
                    dst,
                    "V2GTP",
                    "malformed",
                    {"offset": exc.offset, "raw": bytes(stream.buffer[:RAW_EXCERPT_BYTES]).hex()},
                    exc.reason,
                    sport,
                    dport,
                )
            )
            break
        end = V2GTP_HEADER_LENGTH + length
        if len(stream.buffer) < end:
            break
        body = bytes(stream.buffer[V2GTP_HEADER_LENGTH:end])
        del stream.buffer[:end]
        connection = _connection_of(stream, streams, (dst, dport, src, sport))
        events.append(_exi_event(payload_type, body, t, number, src, dst, sport, dport, connection))
    return events


def _foreign_stream(first: bytes, reverse: _TcpStream | None) -> bool:
    """A TCP stream that carries another protocol, not V2GTP with a defect: its first bytes match
    neither the protocol version nor its inverse (ISO 15118-2 Table 9), and the other direction has
    carried no V2GTP either."""
    if reverse is not None and reverse.connection is not None:
        return False
    return len(first) >= 2 and first[0] != 0x01 and first[1] != 0xFE


def _connection_of(stream: _TcpStream, streams: dict[tuple, _TcpStream], reverse: tuple) -> _V2gConnection:
    """The negotiation state shared with the reverse direction of the same connection."""
    if stream.connection is None:
        other = streams.get(reverse)
        stream.connection = (other.connection if other else None) or _V2gConnection()
        if other is not None and other.connection is None:
            other.connection = stream.connection
    return stream.connection


# Timeline protocol names of the EXI schemas (the message set a decoded V2GTP payload belongs to).
SCHEMA_PROTOCOLS: dict[str, str] = {
    "app": "AppProtocol",
    "din": "DIN",
    "iso2": "ISO-2",
    "iso20-common": "ISO-20",
    "iso20-ac": "ISO-20",
    "iso20-dc": "ISO-20",
    "iso20-acdp": "ISO-20",
    "iso20-wpt": "ISO-20",
}
# Schemas tried, in order, for a 0x8001 payload of a connection whose handshake the capture missed.
_UNNEGOTIATED_GUESSES = ("app", "din", "iso2")


def _exi_event(
    payload_type: int,
    body: bytes,
    t: float,
    number: int,
    src: str,
    dst: str,
    sport: int,
    dport: int,
    connection: _V2gConnection,
) -> TimelineEvent:
    from harness.codec.v2g import exi_codec

    connection.messages += 1
    raw = {
        "payload_type": f"0x{payload_type:04X}",
        "length": len(body),
        "exi": body[:RAW_EXCERPT_BYTES].hex(),
    }
    if payload_type == 0x8001:
        if connection.schema is not None:
            candidates: tuple[str, ...] = (connection.schema,)
        elif connection.messages <= 2:
            # ISO 15118-2 8.2: the first request and response of a connection are the handshake.
            candidates = ("app",)
        else:
            candidates = _UNNEGOTIATED_GUESSES
    else:
        schema = exi_codec.schema_for(payload_type=payload_type)
        if schema is None:
            return TimelineEvent(
                t,
                number,
                src,
                dst,
                "V2GTP",
                "unknown payload type",
                raw,
                f"V2GTP payload type 0x{payload_type:04X} carries no known message set",
                sport,
                dport,
            )
        candidates = (schema,)
    first_error: exi_codec.DecodeError | None = None
    for schema in candidates:
        try:
            decoded = exi_codec.decode(schema, body)
        except exi_codec.DecodeError as exc:
            first_error = first_error or exc
            continue
        if schema == "app":
            _follow_negotiation(connection, decoded)
        return TimelineEvent(
            t, number, src, dst, SCHEMA_PROTOCOLS[schema], _message_name(decoded), decoded, None, sport, dport
        )
    assert first_error is not None
    return TimelineEvent(
        t,
        number,
        src,
        dst,
        SCHEMA_PROTOCOLS[candidates[0]] if len(candidates) == 1 else "V2GTP",
        "malformed",
        {**raw, "offset_bits": first_error.offset_bits, "offset": first_error.offset_bits // 8},
        f"EXI decode error at bit {first_error.offset_bits}: {first_error.reason}",
        sport,
        dport,
    )


def _follow_negotiation(connection: _V2gConnection, decoded: dict[str, Any]) -> None:
    """Learn the offered namespaces from supportedAppProtocolReq and the choice from its response."""
    from harness.codec.v2g import exi_codec

    if "supportedAppProtocolReq" in decoded:
        offers = decoded["supportedAppProtocolReq"].get("AppProtocol", [])
        for offer in offers if isinstance(offers, list) else [offers]:
            if "SchemaID" in offer and "ProtocolNamespace" in offer:
                connection.offered[int(offer["SchemaID"])] = str(offer["ProtocolNamespace"])
    elif "supportedAppProtocolRes" in decoded:
        response = decoded["supportedAppProtocolRes"]
        namespace = connection.offered.get(response.get("SchemaID", -1))
        if namespace is not None and str(response.get("ResponseCode", "")).startswith("OK"):
            connection.schema = exi_codec.schema_for(namespace=namespace)


def _message_name(decoded: dict[str, Any]) -> str:
    """The body element name: ``SessionSetupReq`` of a V2G_Message, the root of anything else."""
    root = next(iter(decoded), "")
    content = decoded.get(root)
    if root == "V2G_Message" and isinstance(content, dict):
        message_body = content.get("Body")
        if isinstance(message_body, dict) and message_body:
            return next(iter(message_body))
    return root
