"""EXI body decoder: walks the generated grammar tables and builds EXIficient-shaped dicts.

Anything that is not a valid stream raises ``DecodeError`` with the bit offset where reading stopped.
The decoder never allocates more than the remaining input can justify: every length is checked
against the bits left before anything is read or built.
"""

from __future__ import annotations

import base64

from harness.codec.exi.bitstream import BitReader
from harness.codec.exi.errors import DecodeError
from harness.codec.exi.grammar import (
    DT_B64,
    DT_BOOL,
    DT_ENUM,
    DT_HEX,
    DT_INT,
    DT_NBIT,
    DT_STR,
    DT_UINT,
    K_AT,
    K_CH,
    K_EE,
    K_SE,
    U_CH_ANY,
    U_EE,
    UNDECLARED_NAMES,
    VALUE_KEY,
    SchemaGrammar,
)

# EXI 1.0 section 5: distinguishing bits "10", no options, version 1 -> the single header byte V2G uses
# (ISO 15118-2 clause 7.9.1.3 / DIN SPEC 70121 clause 9.4: no cookie, no options in the header).
V2G_EXI_HEADER = 0x80
# EXI 1.0 section 7.1.10: with valuePartitionCapacity 0 every string is a miss, coded as length + 2.
STRING_MISS_OFFSET = 2
# Nesting deeper than this cannot come from the V2G schemas; it guards the recursion.
MAX_DEPTH = 64
# Unicode: the largest code point a string may carry.
MAX_CODE_POINT = 0x10FFFF


class Decoder:
    __slots__ = ("g", "r", "depth")

    def __init__(self, grammar: SchemaGrammar, data: bytes) -> None:
        self.g = grammar
        self.r = BitReader(data)
        self.depth = 0

    # ---- values -------------------------------------------------------------------------------

    def value(self, dt: tuple):
        r = self.r
        kind = dt[0]
        if kind == DT_NBIT:
            return r.bits(dt[3]) + dt[1]
        if kind == DT_UINT:
            return r.uint()
        if kind == DT_BOOL:
            return r.bit() == 1
        if kind == DT_ENUM:
            pos = r.pos
            i = r.bits(dt[2])
            values = dt[1]
            if i >= len(values):
                raise DecodeError(f"enumeration index {i} out of range 0..{len(values) - 1}", pos)
            return values[i]
        if kind == DT_INT:
            negative = r.bit()
            magnitude = r.uint()
            return -magnitude - 1 if negative else magnitude
        if kind == DT_HEX or kind == DT_B64:
            pos = r.pos
            n = r.uint()
            if n * 8 > r.end - r.pos:
                raise DecodeError(f"binary length {n} exceeds the {(r.end - r.pos) // 8} bytes left", pos)
            data = r.octets(n)
            return data.hex().upper() if kind == DT_HEX else base64.b64encode(data).decode("ascii")
        if kind == DT_STR:
            return self.string()
        raise DecodeError(f"unsupported datatype {dt!r}", r.pos)

    def string(self) -> str:
        r = self.r
        pos = r.pos
        n = r.uint()
        if n < STRING_MISS_OFFSET:
            raise DecodeError("string table hit, but V2G uses valuePartitionCapacity 0", pos)
        n -= STRING_MISS_OFFSET
        if n * 8 > r.remaining():
            raise DecodeError(f"string length {n} exceeds the input left", pos)
        if not n:
            return ""
        # Fast path: a byte-aligned run of ASCII code points is the string itself.
        data = r.data
        if not r.pos & 7:
            i = r.pos >> 3
            chunk = data[i : i + n]
            if max(chunk) < 0x80:
                r.pos += n * 8
                return chunk.decode("ascii")
        chars = []
        for _ in range(n):
            cpos = r.pos
            c = r.uint()
            if c > MAX_CODE_POINT:
                raise DecodeError(f"code point {c:#x} beyond Unicode", cpos)
            chars.append(chr(c))
        return "".join(chars)

    # ---- structure ----------------------------------------------------------------------------

    def element(self, gid: int):
        g = self.g
        r = self.r
        states, multi, simple, wrap = g.grammars[gid]
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise DecodeError("element nesting too deep", r.pos)
        datatypes = g.datatypes
        trivial = g.trivial
        data = r.data
        end = r.end
        out: dict = {}
        text = None
        st = 0
        while True:
            width, prods, width2, second, undeclared_target = states[st]
            # the event code, read inline (the hot path: one per event)
            pos = r.pos
            stop = pos + width
            if stop > end:
                raise DecodeError(f"stream ends inside a {width}-bit event code", pos)
            last = (stop + 7) >> 3
            code = (int.from_bytes(data[pos >> 3 : last], "big") >> ((last << 3) - stop)) & ((1 << width) - 1)
            r.pos = stop
            if code < len(prods):
                kind, name, target, arg = prods[code]
                if kind == K_SE:
                    tdt = trivial[arg]
                    if tdt >= 0 and not r.bit():  # CH at code 0: read the value inline
                        child = self.value(datatypes[tdt])
                        if r.bit():  # not EE: something unusual, take the general path again
                            r.pos = stop
                            child = self.element(arg)
                    else:
                        if tdt >= 0:
                            r.pos = stop
                        child = self.element(arg)
                    if name in multi:
                        lst = out.get(name)
                        if lst is None:
                            out[name] = [child]
                        else:
                            lst.append(child)
                    else:
                        out[name] = child
                elif kind == K_CH:
                    v = self.value(datatypes[arg])
                    text = v if text is None else f"{text}{v}"
                elif kind == K_AT:
                    out[name] = self.value(datatypes[arg])
                elif kind == K_EE:
                    break
                else:
                    raise DecodeError("SE(*) wildcard content is not supported (no built-in grammars)", pos)
                st = target
            elif code == len(prods):
                code2 = r.bits(width2) if width2 else 0
                if code2 >= len(second):
                    raise DecodeError(f"second-level event code {code2} out of range", pos)
                undeclared = second[code2]
                if undeclared == U_EE:
                    # EXIficient's form of an empty simple value: EE before any characters.
                    if simple >= 0 and text is None:
                        text = ""
                    break
                if undeclared == U_CH_ANY:
                    # A value that does not fit the type (EXIficient writes e.g. an out-of-range integer
                    # this way): kept as the string it was sent as; content2 follows (8.5.4.4.1).
                    v = self.string()
                    text = v if text is None else f"{text}{v}"
                    st = undeclared_target
                    continue
                raise DecodeError(
                    f"undeclared event {UNDECLARED_NAMES[undeclared]} is not supported (the schema does not "
                    "allow it here: an element missing, out of order or unknown, which V2G's EXI profile "
                    "leaves no built-in grammar for)",
                    pos,
                )
            else:
                raise DecodeError(f"event code {code} out of range", pos)
        self.depth -= 1
        if text is not None:
            if not wrap:
                return text
            out[VALUE_KEY] = text
        return out

    def relaxed(self):
        """Relaxed element fragment grammar (EXI 1.0 8.5.3), for elements declared with several types."""
        g = self.g
        r = self.r
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise DecodeError("element nesting too deep", r.pos)
        w0, w1 = g.relaxed_widths()
        n = len(g.frag_attrs)
        m = len(g.fragment)
        out: dict = {}
        text = None
        first = True
        while True:
            pos = r.pos
            if first:
                code = r.bits(w0)
                if code < n:
                    local, _ns, dt = g.frag_attrs[code]
                    out[local] = self.value(g.datatypes[dt])
                    continue
                if code == n:
                    raise DecodeError("AT(*) in a relaxed fragment element is not supported", pos)
                code -= n + 1
            else:
                code = r.bits(w1)
            first = False
            if code < m:
                local, _ns, gid, _attrs = g.fragment[code]
                child = self.element(gid) if gid >= 0 else self.relaxed()
                if local in out:
                    prev = out[local]
                    out[local] = [*prev, child] if isinstance(prev, list) else [prev, child]
                else:
                    out[local] = child
            elif code == m + 1:
                break
            elif code == m + 2:
                v = self.string()
                text = v if text is None else text + v
            else:
                raise DecodeError(f"relaxed fragment event code {code} not supported", pos)
        self.depth -= 1
        if text is not None:
            if not out:
                return text
            out[VALUE_KEY] = text
        return out

    def check_header(self) -> None:
        r = self.r
        if r.end < 8:
            raise DecodeError("no EXI header: stream shorter than one byte", 0)
        header = r.bits(8)
        if header != V2G_EXI_HEADER:
            raise DecodeError(f"EXI header {header:#04x} is not 0x80 (V2G allows no cookie or options)", 0)

    def check_end(self) -> None:
        """After the last event only padding and trailing zero bytes (seen from some EVs) may follow."""
        r = self.r
        first_full = (r.pos + 7) >> 3
        tail = r.data[first_full:]
        if tail and tail.count(0) != len(tail):
            offset = first_full + next(i for i, b in enumerate(tail) if b)
            raise DecodeError("non-zero data after the end of the EXI stream", offset * 8)

    def document(self) -> dict:
        self.check_header()
        g = self.g
        r = self.r
        pos = r.pos
        code = r.bits(g.doc_width)
        if code >= len(g.document):
            raise DecodeError(f"document event code {code} is not a V2G global element", pos)
        local, _ns, gid = g.document[code]
        msg = {local: self.element(gid)}
        self.check_end()
        return msg

    def fragment(self) -> dict:
        """EXI fragment (EXI 1.0 8.5.2), as used for the canonical EXI of signed elements."""
        self.check_header()
        g = self.g
        r = self.r
        out: dict = {}
        while True:
            pos = r.pos
            code = r.bits(g.frag_width)
            if code == len(g.fragment) + 1:
                break
            if code >= len(g.fragment):
                raise DecodeError(f"fragment event code {code} is not supported", pos)
            local, _ns, gid, _attrs = g.fragment[code]
            out.setdefault(local, []).append(self.element(gid) if gid >= 0 else self.relaxed())
        self.check_end()
        return out


def decode_document(grammar: SchemaGrammar, data: bytes) -> dict:
    try:
        return Decoder(grammar, data).document()
    except DecodeError:
        raise
    except RecursionError as exc:  # belt and braces: MAX_DEPTH should stop this first
        raise DecodeError("element nesting too deep", 0) from exc


def decode_fragment(grammar: SchemaGrammar, data: bytes) -> dict:
    return Decoder(grammar, data).fragment()
