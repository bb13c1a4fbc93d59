"""pcap/pcapng -> timeline: decoded messages with wire timestamps, link events and decode errors.

One function serves the live run and `vgi analyze`, so a verdict can be derived again from the
capture alone.  Frames of no interest (neighbour discovery, MLD, ...) are left out of the timeline;
every frame that belongs to a protocol under test is in it, decodable or not.

The file is streamed (capture/pcap.py) and each frame taken apart from its Ethernet, 802.1Q, IPv6,
UDP and TCP headers directly; scapy dissects only what that path does not cover (IPv4, other link
types, unusual IPv6 extension headers, cut-short frames), with the same result.
"""

from __future__ import annotations

import heapq
import socket
import subprocess
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capture.timeline import Timeline, TimelineEvent
from harness.codec.homeplug import (
    ETHERTYPE_HOMEPLUG_AV,
    ETHERTYPE_QINQ,
    ETHERTYPE_VLAN,
    SLAC_MMTYPES,
    HomePlugDecodeError,
    decode_slac,
    mme_type,
)
from harness.codec.mdns import MDNS_PORT
from harness.codec.mdns import summarise as summarise_mdns
from harness.codec.pilot import (
    ETHERTYPE_PILOT_RECORD,
    PilotRecordError,
    decode_pilot_record,
    decode_stp_cpstate,
)
from harness.codec.v2g import exi_codec
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
    closed_at: float | None = None  # capture time of this direction's last FIN or RST


# How long a closed TCP direction's reassembly state is kept, in capture time: a segment of the
# connection can still arrive during TIME-WAIT, twice the Maximum Segment Lifetime of 2 minutes
# (RFC 9293 3.4.2 and 3.6.1); after that the state is released.
TCP_MSL_S = 120.0
CLOSED_FLOW_KEPT_S = 2 * TCP_MSL_S


class Flows:
    """The per-direction TCP reassembly state of a capture being read.  A direction that sent FIN or
    RST is released :data:`CLOSED_FLOW_KEPT_S` later (capture time), so state does not pile up over
    a capture of many sessions; a late retransmission inside that window is still recognised."""

    def __init__(self) -> None:
        self.streams: dict[tuple, _TcpStream] = {}
        self._closing: deque[tuple[float, tuple, _TcpStream]] = deque()

    def closed(self, key: tuple, stream: _TcpStream, t: float) -> None:
        stream.closed_at = t
        self._closing.append((t, key, stream))

    def due(self, now: float) -> bool:
        closing = self._closing
        return bool(closing) and closing[0][0] + CLOSED_FLOW_KEPT_S < now

    def expire(self, now: float) -> None:
        closing = self._closing
        while closing and closing[0][0] + CLOSED_FLOW_KEPT_S < now:
            _, key, stream = closing.popleft()
            # Released only if it is still that stream and no later FIN/RST re-armed it.
            if self.streams.get(key) is stream and stream.closed_at + CLOSED_FLOW_KEPT_S < now:
                del self.streams[key]


def read_timeline(path: Path) -> Timeline:
    """Decode every frame of interest in a pcap or pcapng file."""
    return list(iter_timeline(path))


def iter_timeline(path: Path) -> Iterator[TimelineEvent]:
    """The timeline of a capture, event by event as the file is read: nothing is kept but the
    reassembly state of open TCP connections (released once a connection has been closed for
    :data:`CLOSED_FLOW_KEPT_S` of capture time), so a capture of any size streams through."""
    from capture.pcap import PcapFormatError, records

    keylog = _keylog_if_any(path)
    flows = Flows()
    try:
        source = records(path)
        events = _frames_events(source, flows)
        if keylog is None:
            yield from events
        else:
            # Decrypted events come from tshark's own pass over the file; merged in frame order,
            # the capture's own events first on a tie (as a stable sort of both would put them).
            yield from heapq.merge(events, _decrypted(path, keylog), key=lambda e: e.frame)
    except (OSError, PcapFormatError) as exc:
        raise CaptureReadError(f"cannot read capture {path}: {exc}") from None


def _frames_events(source: Iterator, flows: Flows) -> Iterator[TimelineEvent]:
    for number, (t, linktype, frame) in enumerate(source, start=1):
        if flows.due(t):
            flows.expire(t)
        if linktype == LINKTYPE_ETHERNET:
            events = _ethernet_events(frame, t, number, flows)
            if events is None:  # an encapsulation the fast path does not take apart
                events = _scapy_events(frame, linktype, t, number, flows)
        else:
            events = _scapy_events(frame, linktype, t, number, flows)
        yield from events


def _keylog_if_any(path: Path) -> Path | None:
    """The capture's NSS key log (``<capture stem>.keys``) when it lies beside it: its IEEE 2030.5
    HTTP/TLS events are then decrypted and merged into the timeline (capture/tls_http.py)."""
    from capture.keylog import keylog_for

    keylog = keylog_for(Path(path))
    return keylog if keylog.exists() else None


def _decrypted(path: Path, keylog: Path) -> list[TimelineEvent]:
    from capture.tls_http import TsharkUnavailable, read_tls_http
    from capture.tls_v2g import read_v2g_tls, v2g_tls_ports

    try:
        # V2G over TLS (ISO 15118-2): its ports come from the capture's SDP answers; its plaintext is
        # V2GTP, framed and decoded by this module's own code (capture.tls_v2g), not HTTP.
        v2g_ports = v2g_tls_ports(Path(path))
        decrypted = read_tls_http(Path(path), keylog, not_http=v2g_ports)
        if v2g_ports:
            decrypted += read_v2g_tls(Path(path), keylog, v2g_ports)
    except (TsharkUnavailable, OSError, ValueError, subprocess.SubprocessError) as exc:
        raise CaptureReadError(f"cannot decrypt {path} with {keylog}: {exc}") from None
    return sorted(decrypted, key=lambda e: e.frame)


# pcap link type of Ethernet (tcpdump.org LINKTYPE_ETHERNET); others are taken apart by scapy.
LINKTYPE_ETHERNET = 1
ETHERTYPE_IPV6 = 0x86DD
ETHERNET_HEADER = 14
IPV6_HEADER = 40
IP_PROTO_HOP_BY_HOP = 0  # RFC 8200 4.3; MLD reports carry one before ICMPv6
IP_PROTO_TCP = 6
IP_PROTO_UDP = 17
IP_PROTO_ICMPV6 = 58
IP_PROTO_NONE = 59
UDP_HEADER = 8
TCP_HEADER = 20
# TCP header flag bits (RFC 9293 3.1).
TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK = 0x01, 0x02, 0x04, 0x10
# Ethertypes that carry no IP at all: decided without scapy.
_NON_IP_ETHERTYPES = frozenset({0x0806, 0x88CC, 0x8808, 0x88F7, 0x893A, 0x8912})


def _ethernet_events(frame: bytes, t: float, number: int, flows: Flows) -> list[TimelineEvent] | None:
    """The events of an Ethernet frame from its headers alone, or None when it needs scapy (IPv4,
    IPv6 extension headers other than hop-by-hop, cut-short headers, unknown ethertypes)."""
    if len(frame) < ETHERNET_HEADER:
        return None
    ethertype = (frame[12] << 8) | frame[13]
    if ethertype == ETHERTYPE_IPV6:
        return _ipv6_events(frame, ETHERNET_HEADER, t, number, flows)
    if ethertype == ETHERTYPE_HOMEPLUG_AV:
        stp = decode_stp_cpstate(frame)
        if stp is not None:  # a commercial tester's pilot event (vendor MME), see harness.codec.pilot
            return [TimelineEvent(t, number, _mac(frame[6:12]), _mac(frame[0:6]), "PILOT", "CpState", stp)]
        # Untagged: the MME header follows the Ethernet header, its MMTYPE at bytes 1-2, little
        # endian (harness.codec.homeplug.mme_type, which also takes tagged frames).
        if len(frame) < ETHERNET_HEADER + 3:
            return []
        return [_homeplug_event(frame, frame[15] | (frame[16] << 8), t, number)]
    if ethertype == ETHERTYPE_PILOT_RECORD:
        return [_pilot_record_event(frame, t, number)]
    if ethertype in (ETHERTYPE_VLAN, ETHERTYPE_QINQ):
        return _tagged_events(frame, t, number, flows)
    if ethertype in _NON_IP_ETHERTYPES:
        return []
    return None


def _tagged_events(frame: bytes, t: float, number: int, flows: Flows) -> list[TimelineEvent] | None:
    """A frame with IEEE 802.1Q tags (test systems tag their PLC traffic): pilot events and pilot
    records are untagged only; SLAC and IPv6 are judged behind the tags."""
    offset = 12
    ethertype = ETHERTYPE_VLAN
    while ethertype in (ETHERTYPE_VLAN, ETHERTYPE_QINQ):
        offset += 4
        if len(frame) < offset + 2:
            return None
        ethertype = (frame[offset] << 8) | frame[offset + 1]
    if ethertype == ETHERTYPE_IPV6:
        return _ipv6_events(frame, offset + 2, t, number, flows)
    if ethertype == ETHERTYPE_HOMEPLUG_AV:
        mmtype = mme_type(frame)
        return [] if mmtype is None else [_homeplug_event(frame, mmtype, t, number)]
    if ethertype == ETHERTYPE_PILOT_RECORD or ethertype in _NON_IP_ETHERTYPES:
        return []
    return None


def _ipv6_events(frame: bytes, base: int, t: float, number: int, flows: Flows) -> list[TimelineEvent] | None:
    """An IPv6 packet whose header starts at ``base``."""
    if len(frame) < base + IPV6_HEADER:
        return None
    length = (frame[base + 4] << 8) | frame[base + 5]
    end = base + IPV6_HEADER + length
    if length == 0 or end > len(frame):  # a jumbogram or a frame cut short by the snap length
        return None
    src, dst = _ipv6_text(frame[base + 8 : base + 24]), _ipv6_text(frame[base + 24 : base + 40])
    header, offset = frame[base + 6], base + IPV6_HEADER
    if header == IP_PROTO_HOP_BY_HOP:
        if offset + 2 > end:
            return None
        header, offset = frame[offset], offset + (frame[offset + 1] + 1) * 8
    if header == IP_PROTO_UDP:
        if offset + UDP_HEADER > end:
            return None
        sport, dport = (frame[offset] << 8) | frame[offset + 1], (frame[offset + 2] << 8) | frame[offset + 3]
        udp_end = offset + ((frame[offset + 4] << 8) | frame[offset + 5])
        if udp_end < offset + UDP_HEADER or udp_end > end:
            return None
        return _udp_events(frame[offset + UDP_HEADER : udp_end], t, number, src, dst, sport, dport)
    if header == IP_PROTO_TCP:
        if offset + TCP_HEADER > end:
            return None
        data_offset = (frame[offset + 12] >> 4) * 4
        if data_offset < TCP_HEADER or offset + data_offset > end:
            return None
        sport, dport = (frame[offset] << 8) | frame[offset + 1], (frame[offset + 2] << 8) | frame[offset + 3]
        seq = int.from_bytes(frame[offset + 4 : offset + 8], "big")
        flags = ((frame[offset + 12] & 1) << 8) | frame[offset + 13]
        payload = frame[offset + data_offset : end]
        return _tcp_events(flags, seq, sport, dport, payload, t, number, src, dst, flows)
    if header in (IP_PROTO_ICMPV6, IP_PROTO_NONE):
        return []
    return None


_IPV6_TEXT: dict[bytes, str] = {}


def _ipv6_text(raw: bytes) -> str:
    text = _IPV6_TEXT.get(raw)
    if text is None:
        if len(_IPV6_TEXT) > 4096:  # a capture of many hosts: keep the cache small
            _IPV6_TEXT.clear()
        text = _IPV6_TEXT[raw] = socket.inet_ntop(socket.AF_INET6, raw)
    return text


def _udp_events(
    data: bytes, t: float, number: int, src: str, dst: str, sport: int, dport: int
) -> list[TimelineEvent]:
    if UDP_ECHO_PORT in (sport, dport):
        return [_echo_event(data, t, number, src, dst, sport, dport)]
    if MDNS_PORT in (sport, dport):
        return [_mdns_event(data, t, number, src, dst, sport, dport)]
    if SDP_SERVER_PORT not in (sport, dport):
        return []
    return [_sdp_event(data, t, number, src, dst, sport, dport)]


def _scapy_events(frame: bytes, linktype: int, t: float, number: int, flows: Flows) -> list[TimelineEvent]:
    """Any frame the fast path does not take apart: dissected by scapy (VLAN, IPv4, other link
    types), then judged like the rest."""
    # The layers must be bound before the first packet is dissected, or everything reads as Raw.
    import scapy.layers.inet6  # noqa: F401
    import scapy.layers.l2  # noqa: F401
    from scapy.config import conf
    from scapy.layers.inet import TCP, UDP
    from scapy.layers.inet6 import IPv6

    import harness.codec.homeplug  # noqa: F401  (binds the SLAC layers scapy lacks)

    layer = conf.l2types.num2layer.get(linktype, conf.raw_layer)
    try:
        packet = layer(frame)
    except Exception:  # noqa: BLE001 - scapy raises anything on a frame it cannot dissect
        packet = conf.raw_layer(frame)
    frame = bytes(packet)
    stp = decode_stp_cpstate(frame)
    if stp is not None:
        return [TimelineEvent(t, number, _mac(frame[6:12]), _mac(frame[0:6]), "PILOT", "CpState", stp)]
    if len(frame) >= ETHERNET_HEADER and int.from_bytes(frame[12:14], "big") == ETHERTYPE_PILOT_RECORD:
        return [_pilot_record_event(frame, t, number)]
    is_ipv6 = IPv6 in packet
    if is_ipv6 and UDP in packet and UDP_ECHO_PORT in (packet[UDP].sport, packet[UDP].dport):
        udp = packet[UDP]
        ip = packet[IPv6]
        return [_echo_event(_payload(udp), t, number, ip.src, ip.dst, udp.sport, udp.dport)]
    mmtype = mme_type(frame)
    if mmtype is not None:
        return [_homeplug_event(frame, mmtype, t, number)]
    if not is_ipv6:
        return []
    ip = packet[IPv6]
    if UDP in packet:
        udp = packet[UDP]
        return _udp_events(_payload(udp), t, number, ip.src, ip.dst, udp.sport, udp.dport)
    if TCP in packet:
        tcp = packet[TCP]
        return _tcp_events(
            int(tcp.flags), tcp.seq, tcp.sport, tcp.dport, _payload(tcp), t, number, ip.src, ip.dst, flows
        )
    return []


def _payload(layer: Any) -> bytes:
    """A layer's payload without the padding scapy appends to it (Ethernet trailer bytes beyond the
    IPv6 payload length or the UDP length are not payload)."""
    from scapy.config import conf

    data = bytes(layer.payload)
    padding = sum(len(p.load) for p in layer.payload.iterpayloads() if isinstance(p, conf.padding_layer))
    return data[: len(data) - padding]


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


def _pilot_record_event(frame: bytes, t: float, number: int) -> TimelineEvent:
    """A simulated pilot record (ethertype 0x88B5, protocol PILOT); format: harness.codec.pilot."""
    src, dst = _mac(frame[6:12]), _mac(frame[0:6])
    try:
        record = decode_pilot_record(frame[14:])
    except PilotRecordError as exc:
        return TimelineEvent(t, number, src, dst, "PILOT", "malformed", {"raw": frame[:64].hex()}, str(exc))
    message = "EvseOutput" if record.side == 1 else "VehicleState"
    return TimelineEvent(t, number, src, dst, "PILOT", message, record.fields())


def _echo_event(
    data: bytes, t: float, number: int, src: str, dst: str, sport: int, dport: int
) -> TimelineEvent:
    """A UDP echo link probe (protocol ECHO)."""
    message = "request" if dport == UDP_ECHO_PORT else "reply"
    fields = {"length": len(data), "payload": data[:32].hex()}
    return TimelineEvent(t, number, src, dst, "ECHO", message, fields, None, sport, dport)


def _mac(raw: bytes) -> str:
    return raw.hex(":")


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


_TCP_FLAG_EVENTS = ((TCP_RST, "RST"), (TCP_FIN, "FIN"))
_SEQ_MASK = 0xFFFFFFFF


def _tcp_events(
    flags: int,
    seq: int,
    sport: int,
    dport: int,
    payload: bytes,
    t: float,
    number: int,
    src: str,
    dst: str,
    flows: Flows,
) -> list[TimelineEvent]:
    events: list[TimelineEvent] = []
    key = (src, sport, dst, dport)
    if flags & TCP_SYN:
        name = "SYN-ACK" if flags & TCP_ACK else "SYN"
        events.append(TimelineEvent(t, number, src, dst, "TCP", name, {}, None, sport, dport))
        flows.streams[key] = _TcpStream(next_seq=(seq + 1) & _SEQ_MASK)
        return events
    if payload:
        events.extend(_v2gtp_events(payload, seq, t, number, src, dst, sport, dport, flows.streams))
    if flags & (TCP_FIN | TCP_RST):
        stream = flows.streams.get(key)
        events.extend(_unfinished_frame(stream, t, number, src, dst, sport, dport))
        if stream is not None:
            flows.closed(key, stream, t)
    for flag, name in _TCP_FLAG_EVENTS:
        if flags & flag:
            events.append(TimelineEvent(t, number, src, dst, "TCP", name, {}, None, sport, dport))
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
    # Whole frames are cut from the bytes in hand; only an unfinished one waits in the buffer.
    buffer = stream.buffer
    if buffer:
        buffer.extend(payload)
        data = bytes(buffer)
    else:
        data = payload
    events = []
    pos, size = 0, len(data)
    while size - pos >= V2GTP_HEADER_LENGTH:
        try:
            _, _, payload_type, length = decode_v2gtp_header(data[pos : pos + V2GTP_HEADER_LENGTH])
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
                    {"offset": exc.offset, "raw": data[pos : pos + RAW_EXCERPT_BYTES].hex()},
                    exc.reason,
                    sport,
                    dport,
                )
            )
            break
        end = pos + V2GTP_HEADER_LENGTH + length
        if size < end:
            break
        body = data[pos + V2GTP_HEADER_LENGTH : end]
        pos = end
        connection = _connection_of(stream, streams, (dst, dport, src, sport))
        events.append(_exi_event(payload_type, body, t, number, src, dst, sport, dport, connection))
    if pos or not buffer:
        buffer[:] = data[pos:]
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
    connection.messages += 1
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
                _exi_excerpt(payload_type, body),
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
        {
            **_exi_excerpt(payload_type, body),
            "offset_bits": first_error.offset_bits,
            "offset": first_error.offset_bits // 8,
        },
        f"EXI decode error at bit {first_error.offset_bits}: {first_error.reason}",
        sport,
        dport,
    )


def _exi_excerpt(payload_type: int, body: bytes) -> dict[str, Any]:
    """What the timeline keeps of a V2GTP payload that did not decode."""
    return {
        "payload_type": f"0x{payload_type:04X}",
        "length": len(body),
        "exi": body[:RAW_EXCERPT_BYTES].hex(),
    }


def _follow_negotiation(connection: _V2gConnection, decoded: dict[str, Any]) -> None:
    """Learn the offered namespaces from supportedAppProtocolReq and the choice from its response."""
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
