"""Copy a capture into a pcapng file whose packets carry comments, frame for frame.

Wireshark and tshark number frames by counting packet blocks, so the copy keeps every block of the
source in order and changes only the packet blocks that get a comment: an ``opt_comment`` option is
added to their options.  Every other block (section headers, interface descriptions, name resolution,
statistics, decryption secrets, custom blocks) is copied byte for byte.  A classic libpcap file is
converted: one section, one interface, one Enhanced Packet Block per record.

Block and option layouts: the PCAP Next Generation Dump File Format (IETF draft-ietf-opsawg-pcapng;
clause numbers below are from revision 02).  Classic pcap: draft-ietf-opsawg-pcap.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping
from pathlib import Path

# pcapng 4.1: the Section Header Block's type and its byte-order magic.
SHB_TYPE = 0x0A0D0D0A
BYTE_ORDER_MAGIC = 0x1A2B3C4D
# pcapng 4.2, 4.3, 4.4 and Appendix: Interface Description, Enhanced Packet, Simple Packet and the
# obsolete Packet Block.
IDB_TYPE = 0x00000001
OBSOLETE_PACKET_BLOCK_TYPE = 0x00000002
SIMPLE_PACKET_BLOCK_TYPE = 0x00000003
EPB_TYPE = 0x00000006
# pcapng 4.7: the Decryption Secrets Block, and its secrets type for an NSS key log (TLS key log).
DSB_TYPE = 0x0000000A
SECRETS_TYPE_TLS_KEYLOG = 0x544C534B
# pcapng 3.5: option codes common to all blocks; 4.2: if_tsresol of an Interface Description Block.
OPT_ENDOFOPT = 0
OPT_COMMENT = 1
IF_TSRESOL = 9
# An option's value length is a 16-bit field (pcapng 3.5).
MAX_OPTION_VALUE = 0xFFFF
# Fixed fields after the 8-byte block header of an EPB (interface id, timestamp high and low, captured
# and original length) and of the obsolete Packet Block (interface id and drops count in 2+2 bytes
# instead of 4, then the same): 20 bytes each, with the captured length at offset 12.
_PACKET_FIXED = 20
_CAPLEN_OFFSET = 12
# Classic pcap (draft-ietf-opsawg-pcap 4): magic numbers for microsecond and nanosecond timestamps.
PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
# The classic header's LinkType field carries FCS flags in its upper bits (draft-ietf-opsawg-pcap 4).
_LINKTYPE_MASK = 0x0FFFFFFF


class CaptureFormatError(ValueError):
    """The source is neither pcapng nor classic pcap, or is malformed before its first packet."""


def _pad4(length: int) -> int:
    return (length + 3) & ~3


def _option(endian: str, code: int, value: bytes) -> bytes:
    return struct.pack(endian + "HH", code, len(value)) + value + b"\0" * (_pad4(len(value)) - len(value))


def comment_option(endian: str, text: str) -> bytes:
    """An ``opt_comment`` (UTF-8, cut at a character boundary to fit the 16-bit length)."""
    value = text.encode("utf-8")
    if len(value) > MAX_OPTION_VALUE:
        value = value[:MAX_OPTION_VALUE].decode("utf-8", "ignore").encode("utf-8")
    return _option(endian, OPT_COMMENT, value)


def _with_comment(endian: str, block: bytes, text: str) -> bytes:
    """A packet block (EPB or obsolete PB) with one more ``opt_comment`` among its options."""
    block_type = struct.unpack_from(endian + "I", block, 0)[0]
    caplen = struct.unpack_from(endian + "I", block, 8 + _CAPLEN_OFFSET)[0]
    options_at = 8 + _PACKET_FIXED + _pad4(caplen)
    end = len(block) - 4
    if options_at > end:
        raise CaptureFormatError(f"packet block's captured length {caplen} overruns the block")
    kept = bytearray()
    at = options_at
    while at + 4 <= end:
        code, length = struct.unpack_from(endian + "HH", block, at)
        if code == OPT_ENDOFOPT:
            break
        step = 4 + _pad4(length)
        if at + step > end:
            raise CaptureFormatError(f"option {code} overruns its packet block")
        kept += block[at : at + step]
        at += step
    options = bytes(kept) + comment_option(endian, text) + struct.pack(endian + "HH", OPT_ENDOFOPT, 0)
    total = options_at + len(options) + 4
    head = struct.pack(endian + "II", block_type, total)
    return head + block[8:options_at] + options + struct.pack(endian + "I", total)


def _secrets_block(endian: str, keylog: bytes) -> bytes:
    """A Decryption Secrets Block carrying an NSS key log, so Wireshark decrypts TLS unaided."""
    body = struct.pack(endian + "II", SECRETS_TYPE_TLS_KEYLOG, len(keylog)) + keylog
    body += b"\0" * (_pad4(len(keylog)) - len(keylog))
    return (
        struct.pack(endian + "II", DSB_TYPE, 12 + len(body))
        + body
        + struct.pack(endian + "I", 12 + len(body))
    )


def _copy_pcapng(data: bytes, out: bytearray, comments: Mapping[int, str], keylog: bytes) -> tuple[int, int]:
    frame = commented = 0
    at = 0
    endian = "<"
    while at + 12 <= len(data):
        if struct.unpack_from("<I", data, at)[0] == SHB_TYPE:  # the same in either byte order
            magic = data[at + 8 : at + 12]
            if magic == struct.pack("<I", BYTE_ORDER_MAGIC):
                endian = "<"
            elif magic == struct.pack(">I", BYTE_ORDER_MAGIC):
                endian = ">"
            else:
                raise CaptureFormatError(f"section header at byte {at} has no byte-order magic")
        block_type, total = struct.unpack_from(endian + "II", data, at)
        if total < 12 or total % 4 or at + total > len(data):
            if at == 0:
                raise CaptureFormatError("the section header block is truncated or damaged")
            break  # a truncated or damaged tail: copied as it is below, as the readers see it
        block = data[at : at + total]
        if block_type in (EPB_TYPE, OBSOLETE_PACKET_BLOCK_TYPE, SIMPLE_PACKET_BLOCK_TYPE):
            frame += 1
            # A Simple Packet Block has no options (pcapng 4.4): it stays as it is, uncommented.
            if frame in comments and block_type != SIMPLE_PACKET_BLOCK_TYPE:
                try:
                    block = _with_comment(endian, block, comments[frame])
                    commented += 1
                except CaptureFormatError:
                    pass  # a damaged block keeps its bytes, so readers see it as in the original
        out += block
        if at == 0 and keylog:
            # Right after the first section header: before every packet the secrets decrypt.
            out += _secrets_block(endian, keylog)
        at += total
    out += data[at:]
    return frame, commented


def _copy_pcap(data: bytes, out: bytearray, comments: Mapping[int, str], keylog: bytes) -> tuple[int, int]:
    """Classic pcap -> pcapng (little-endian): SHB, one IDB, an EPB per record."""
    for endian in ("<", ">"):
        magic = struct.unpack_from(endian + "I", data, 0)[0]
        if magic in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
            break
    else:
        raise CaptureFormatError("neither a pcapng nor a classic pcap file")
    if len(data) < 24:
        raise CaptureFormatError("classic pcap header truncated")
    snaplen, linktype = struct.unpack_from(endian + "II", data, 16)
    digits = 9 if magic == PCAP_MAGIC_NS else 6
    shb_body = struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1)
    out += struct.pack("<II", SHB_TYPE, 12 + len(shb_body)) + shb_body + struct.pack("<I", 12 + len(shb_body))
    idb_body = struct.pack("<HHI", linktype & _LINKTYPE_MASK, 0, snaplen)
    idb_body += _option("<", IF_TSRESOL, bytes([digits])) + struct.pack("<HH", OPT_ENDOFOPT, 0)
    out += struct.pack("<II", IDB_TYPE, 12 + len(idb_body)) + idb_body + struct.pack("<I", 12 + len(idb_body))
    if keylog:
        out += _secrets_block("<", keylog)
    frame = commented = 0
    at = 24
    while at + 16 <= len(data):
        seconds, fraction, caplen, origlen = struct.unpack_from(endian + "IIII", data, at)
        if at + 16 + caplen > len(data):
            break  # a record cut short: readers stop there too
        frame += 1
        stamp = seconds * 10**digits + fraction
        packet = data[at + 16 : at + 16 + caplen]
        body = struct.pack("<IIIII", 0, stamp >> 32, stamp & 0xFFFFFFFF, caplen, origlen)
        body += packet + b"\0" * (_pad4(caplen) - caplen)
        if frame in comments:
            body += comment_option("<", comments[frame]) + struct.pack("<HH", OPT_ENDOFOPT, 0)
            commented += 1
        out += struct.pack("<II", EPB_TYPE, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
        at += 16 + caplen
    return frame, commented


def write_commented(
    source: Path, target: Path, comments: Mapping[int, str], keylog: bytes = b""
) -> tuple[int, int]:
    """Write ``target``: ``source`` as pcapng with ``comments`` (1-based frame number -> text) on its
    packets; return the number of frames and of frames commented.  ``source`` is only read; frames
    beyond the capture's end are ignored; the file appears at ``target`` whole or not at all.
    ``keylog``: an NSS key log to embed (a Decryption Secrets Block), so Wireshark shows the TLS
    traffic decrypted without being told where the keys are."""
    data = Path(source).read_bytes()
    out = bytearray()
    if len(data) >= 4 and struct.unpack_from("<I", data, 0)[0] == SHB_TYPE:
        counts = _copy_pcapng(data, out, comments, keylog)
    else:
        counts = _copy_pcap(data, out, comments, keylog)
    tmp = Path(target).with_name(Path(target).name + ".tmp")
    tmp.write_bytes(bytes(out))
    os.replace(tmp, target)
    return counts
