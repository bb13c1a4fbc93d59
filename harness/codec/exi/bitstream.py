"""Bit-packed EXI streams (EXI 1.0 section 7.1 and 6.2, alignment "bit-packed").

Values are written most significant bit first.  Unsigned integers use the EXI variable-length form:
groups of seven bits, least significant group first, the high bit of each octet set when another
octet follows (EXI 1.0 section 7.1.6).
"""

from __future__ import annotations

from harness.codec.exi.errors import DecodeError

# EXI 1.0 section 7.1.6: each octet of an unsigned integer carries 7 value bits and a continuation bit.
UINT_GROUP_BITS = 7
UINT_CONTINUE = 0x80


class BitReader:
    """Reads bits from a byte string; every read past the end raises DecodeError with the bit offset."""

    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) * 8

    def remaining(self) -> int:
        return self.end - self.pos

    def bits(self, n: int) -> int:
        pos = self.pos
        stop = pos + n
        if stop > self.end:
            raise DecodeError(f"stream ends inside a {n}-bit field", pos)
        first = pos >> 3
        last = (stop + 7) >> 3
        chunk = int.from_bytes(self.data[first:last], "big")
        self.pos = stop
        return (chunk >> ((last << 3) - stop)) & ((1 << n) - 1)

    def bit(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise DecodeError("stream ends inside a 1-bit field", pos)
        self.pos = pos + 1
        return (self.data[pos >> 3] >> (7 - (pos & 7))) & 1

    def uint(self) -> int:
        """EXI unsigned integer; the value is bounded by the input because each octet costs 8 bits."""
        value = 0
        shift = 0
        data = self.data
        while True:
            pos = self.pos
            if pos + 8 > self.end:
                raise DecodeError("stream ends inside an unsigned integer", pos)
            off = pos & 7
            i = pos >> 3
            if off:
                octet = ((data[i] << off) | (data[i + 1] >> (8 - off))) & 0xFF
            else:
                octet = data[i]
            self.pos = pos + 8
            value |= (octet & 0x7F) << shift
            if not octet & UINT_CONTINUE:
                return value
            shift += UINT_GROUP_BITS

    def octets(self, n: int) -> bytes:
        pos = self.pos
        if n * 8 > self.end - pos:
            raise DecodeError(f"length {n} exceeds the {(self.end - pos) // 8} bytes left", pos)
        off = pos & 7
        i = pos >> 3
        self.pos = pos + n * 8
        if not off:
            return bytes(self.data[i : i + n])
        chunk = int.from_bytes(self.data[i : i + n + 1], "big")
        return ((chunk >> (8 - off)) & ((1 << (n * 8)) - 1)).to_bytes(n, "big")


class BitWriter:
    """Collects bits MSB first; ``getvalue`` pads the last byte with zero bits (EXI 1.0 section 6)."""

    __slots__ = ("out", "acc", "nacc")

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.nacc = 0

    def bits(self, value: int, n: int) -> None:
        acc = (self.acc << n) | value
        nacc = self.nacc + n
        if nacc >= 64:
            keep = nacc & 7
            self.out += (acc >> keep).to_bytes((nacc - keep) >> 3, "big")
            acc &= (1 << keep) - 1
            nacc = keep
        self.acc = acc
        self.nacc = nacc

    def uint(self, value: int) -> None:
        if value < 0x80:
            self.bits(value, 8)
            return
        groups = []
        while True:
            low = value & 0x7F
            value >>= 7
            if value:
                groups.append(low | UINT_CONTINUE)
            else:
                groups.append(low)
                break
        self.bits(int.from_bytes(bytes(groups), "big"), 8 * len(groups))

    def octets(self, data: bytes) -> None:
        if data:
            self.bits(int.from_bytes(data, "big"), 8 * len(data))

    def getvalue(self) -> bytes:
        pad = (-self.nacc) & 7
        tail = (self.acc << pad).to_bytes((self.nacc + pad) >> 3, "big") if self.nacc else b""
        return bytes(self.out) + tail
