"""pcap and pcapng files read record by record: (timestamp, link type, frame bytes), nothing kept.

The file is read in large chunks and the records are cut out of them, so memory stays bounded by
the chunk size whatever the capture's size.  Formats: classic pcap (microsecond and nanosecond
magic, either byte order; tcpdump.org "pcap-savefile") and pcapng (Section Header, Interface
Description, Enhanced and obsolete Packet Blocks; IETF draft-ietf-opsawg-pcapng).  A gzip-compressed
file is read through gzip.  A file cut short ends the iteration at its last whole record, as
Wireshark reads it.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

# Bytes read from the file at a time.
CHUNK_BYTES = 1 << 22

PCAP_MAGICS: dict[bytes, tuple[str, int]] = {  # magic -> (byte order, timestamp ticks per second)
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000),
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000),
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000),
}
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D
PCAPNG_IDB = 1
PCAPNG_PACKET_BLOCK = 2  # obsolete, still written by old tools
PCAPNG_SPB = 3
PCAPNG_EPB = 6
PCAPNG_OPTION_TSRESOL = 9
PCAPNG_DEFAULT_TICKS = 1_000_000  # an IDB without if_tsresol counts microseconds
GZIP_MAGIC = b"\x1f\x8b"

Record = tuple[float, int, bytes]  # (epoch seconds, link type, frame)


class PcapFormatError(ValueError):
    pass


def records(path: Path) -> Iterator[Record]:
    """Every packet record of the file, in file order."""
    with open(path, "rb") as raw:
        head = raw.read(4)
        raw.seek(0)
        stream: BinaryIO = gzip.open(raw) if head[:2] == GZIP_MAGIC else raw  # type: ignore[assignment]
        magic = stream.read(4)
        if magic in PCAP_MAGICS:
            yield from _pcap_records(stream, magic)
        elif len(magic) == 4 and struct.unpack("<I", magic)[0] == PCAPNG_SHB:
            yield from _pcapng_records(stream, magic)
        else:
            raise PcapFormatError(f"not a pcap or pcapng file (magic {magic.hex() or 'empty'})")


class _Chunks:
    """A window on the file from which records are cut; ``need`` refills it."""

    def __init__(self, stream: BinaryIO, start: bytes) -> None:
        self.stream = stream
        self.data = start
        self.pos = 0

    def need(self, size: int) -> bool:
        """Whether ``size`` bytes are available from ``pos`` (reading more if not)."""
        if len(self.data) - self.pos >= size:
            return True
        rest = self.data[self.pos :]
        more = self.stream.read(max(CHUNK_BYTES, size - len(rest)))
        self.data, self.pos = rest + more, 0
        return len(self.data) >= size


def _pcap_records(stream: BinaryIO, magic: bytes) -> Iterator[Record]:
    order, ticks = PCAP_MAGICS[magic]
    header = stream.read(20)
    if len(header) < 20:
        raise PcapFormatError("pcap file header cut short")
    linktype = struct.unpack(order + "HHiIII", header)[5]
    record = struct.Struct(order + "IIII")
    chunks = _Chunks(stream, b"")
    while chunks.need(16):
        sec, frac, caplen, _ = record.unpack_from(chunks.data, chunks.pos)
        if not chunks.need(16 + caplen):
            return
        start = chunks.pos + 16
        chunks.pos = start + caplen
        yield (sec * ticks + frac) / ticks, linktype, chunks.data[start : chunks.pos]


def _pcapng_records(stream: BinaryIO, magic: bytes) -> Iterator[Record]:
    chunks = _Chunks(stream, magic)
    head = struct.Struct("<II")  # block type and total length
    epb = struct.Struct("<IIIII")  # after the block header: interface, ts high, ts low, caplen, wirelen
    interfaces: list[tuple[int, int]] = []  # (link type, ticks per second) by interface id
    while chunks.need(12):
        data, pos = chunks.data, chunks.pos
        kind, length = head.unpack_from(data, pos)
        if kind == PCAPNG_SHB:
            order = _section_byte_order(data, pos)
            head, epb = struct.Struct(order + "II"), struct.Struct(order + "IIIII")
            kind, length = head.unpack_from(data, pos)
            interfaces = []  # interface ids are per section
        if length < 12 or length % 4:
            if kind == PCAPNG_SHB and pos == 0:
                raise PcapFormatError(f"pcapng section header of bad length {length}")
            return
        if len(data) - pos < length:
            if not chunks.need(length):
                return
            data, pos = chunks.data, chunks.pos
        chunks.pos = pos + length
        if kind == PCAPNG_EPB:
            iface, high, low, caplen, _ = epb.unpack_from(data, pos + 8)
            if iface < len(interfaces):
                linktype, ticks = interfaces[iface]
                yield ((high << 32) | low) / ticks, linktype, data[pos + 28 : pos + 28 + caplen]
        elif kind == PCAPNG_PACKET_BLOCK:
            iface, _, high, low, caplen = struct.unpack_from(epb.format[0] + "HHIII", data, pos + 8)
            if iface < len(interfaces):
                linktype, ticks = interfaces[iface]
                yield ((high << 32) | low) / ticks, linktype, data[pos + 28 : pos + 28 + caplen]
        elif kind == PCAPNG_IDB:
            order = epb.format[0]
            linktype = struct.unpack_from(order + "H", data, pos + 8)[0]
            interfaces.append((linktype, _ticks(data[pos + 16 : pos + length - 4], order)))
        elif kind == PCAPNG_SPB and interfaces:
            # A Simple Packet Block has no timestamp (pcapng 4.4); it gets none here either (0.0).
            wirelen = struct.unpack_from(epb.format[0] + "I", data, pos + 8)[0]
            yield 0.0, interfaces[0][0], data[pos + 12 : min(pos + 12 + wirelen, pos + length - 4)]


def _section_byte_order(data: bytes, pos: int) -> str:
    """The byte order of the section whose header starts at ``pos`` (pcapng 4.1 byte-order magic)."""
    if struct.unpack_from("<I", data, pos + 8)[0] == PCAPNG_BYTE_ORDER_MAGIC:
        return "<"
    if struct.unpack_from(">I", data, pos + 8)[0] == PCAPNG_BYTE_ORDER_MAGIC:
        return ">"
    raise PcapFormatError("pcapng section header with a bad byte-order magic")


def _ticks(options: bytes, order: str) -> int:
    """Timestamp ticks per second from an IDB's options (if_tsresol: 10^-n, or 2^-n with the top bit)."""
    offset = 0
    while offset + 4 <= len(options):
        code, size = struct.unpack_from(order + "HH", options, offset)
        if code == 0:
            break
        if code == PCAPNG_OPTION_TSRESOL and size == 1:
            value = options[offset + 4]
            return (2 if value & 0x80 else 10) ** (value & 0x7F)
        offset += 4 + size + (-size % 4)
    return PCAPNG_DEFAULT_TICKS
