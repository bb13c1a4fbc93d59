"""EXI body encoder: writes EXIficient-shaped dicts through the generated grammar tables.

The grammar drives the walk: in each state the first production (in event-code order) whose element
or attribute is still waiting in the message is taken, EE only once everything has been written.
Anything the grammar cannot express raises ``EncodeError`` with the element path and the rule.
"""

from __future__ import annotations

import base64
import binascii

from harness.codec.exi.bitstream import BitWriter
from harness.codec.exi.errors import EncodeError
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
    VALUE_KEY,
    SchemaGrammar,
)

V2G_EXI_HEADER = 0x80  # EXI 1.0 section 5; see decoder.V2G_EXI_HEADER
STRING_MISS_OFFSET = 2  # EXI 1.0 section 7.1.10 with valuePartitionCapacity 0
MAX_DEPTH = 64


class Encoder:
    __slots__ = ("g", "w", "strict", "empty_as_ee", "depth")

    def __init__(self, grammar: SchemaGrammar, strict: bool = True, empty_as_ee: bool = False) -> None:
        self.g = grammar
        self.w = BitWriter()
        # strict: enforce the schema's facets (ranges, lengths) that EXI itself would not need
        self.strict = strict
        # empty_as_ee: write an empty simple value as EXIficient does (second-level EE) instead of
        # the zero-length value real EVs and the C stacks send
        self.empty_as_ee = empty_as_ee
        self.depth = 0

    # ---- values -------------------------------------------------------------------------------

    def value(self, dt: tuple, v, path: str | tuple) -> None:
        w = self.w
        kind = dt[0]
        if kind == DT_NBIT or kind == DT_UINT or kind == DT_INT:
            if isinstance(v, bool) or not isinstance(v, int):
                if isinstance(v, str) and _is_int_text(v):
                    v = int(v)
                else:
                    raise EncodeError(path, f"{v!r} is not an integer")
            if kind == DT_NBIT:
                lo, hi = dt[1], dt[2]
                if not lo <= v <= hi:
                    raise EncodeError(path, f"{v} outside {lo}..{hi}")
                w.bits(v - lo, dt[3])
                return
            lo, hi = dt[1], dt[2]
            if kind == DT_UINT:
                if v < 0:
                    raise EncodeError(path, f"{v} is negative; the type is unsigned")
                if self.strict and hi is not None and v > hi:
                    raise EncodeError(path, f"{v} outside {lo}..{hi}")
                w.uint(v)
                return
            if self.strict and ((lo is not None and v < lo) or (hi is not None and v > hi)):
                raise EncodeError(path, f"{v} outside {lo}..{hi}")
            if v < 0:
                w.bits(1, 1)
                w.uint(-v - 1)
            else:
                w.bits(0, 1)
                w.uint(v)
            return
        if kind == DT_ENUM:
            values = dt[1]
            try:
                i = values.index(v)
            except ValueError:
                raise EncodeError(path, f"{v!r} is not one of {', '.join(values)}") from None
            w.bits(i, dt[2])
            return
        if kind == DT_BOOL:
            if v is True or v == "true" or v == "1":
                w.bits(1, 1)
            elif v is False or v == "false" or v == "0":
                w.bits(0, 1)
            else:
                raise EncodeError(path, f"{v!r} is not a boolean")
            return
        if kind == DT_STR:
            if not isinstance(v, str):
                raise EncodeError(path, f"{v!r} is not a string")
            self._check_length(dt, len(v), path, "characters")
            w.uint(len(v) + STRING_MISS_OFFSET)
            if v.isascii():
                w.octets(v.encode("ascii"))
            else:
                for c in v:
                    w.uint(ord(c))
            return
        if kind == DT_HEX:
            if isinstance(v, bytes | bytearray):
                data = bytes(v)
            elif isinstance(v, str):
                try:
                    data = bytes.fromhex(v)
                except ValueError:
                    raise EncodeError(path, f"{v!r} is not hexBinary") from None
            else:
                raise EncodeError(path, f"{v!r} is not hexBinary")
            self._check_length(dt, len(data), path, "bytes")
            w.uint(len(data))
            w.octets(data)
            return
        if kind == DT_B64:
            if isinstance(v, bytes | bytearray):
                data = bytes(v)
            elif isinstance(v, str):
                try:
                    data = base64.b64decode(v, validate=True)
                except (binascii.Error, ValueError):
                    raise EncodeError(path, f"{v!r} is not base64Binary") from None
            else:
                raise EncodeError(path, f"{v!r} is not base64Binary")
            self._check_length(dt, len(data), path, "bytes")
            w.uint(len(data))
            w.octets(data)
            return
        raise EncodeError(path, f"unsupported datatype {dt!r}")

    def _fits(self, dt: tuple, v) -> bool:
        """Whether ``value`` can write v with its type (checked on a scratch writer)."""
        real = self.w
        self.w = BitWriter()
        try:
            self.value(dt, v, "")
        except EncodeError:
            return False
        finally:
            self.w = real
        return True

    def _check_length(self, dt: tuple, n: int, path: str | tuple, unit: str) -> None:
        if not self.strict or n == 0:
            # An empty value is always allowed through: the zero-length form is what real EVs send.
            return
        lo, hi = dt[1], dt[2]
        if n < lo or (hi >= 0 and n > hi):
            raise EncodeError(path, f"{n} {unit} outside length {lo}..{hi if hi >= 0 else 'unbounded'}")

    # ---- structure ----------------------------------------------------------------------------

    def element(self, gid: int, value, path: str | tuple) -> None:
        states, multi, simple, _wrap = self.g.grammars[gid]
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise EncodeError(path, "nesting too deep")
        if not isinstance(value, dict):
            if simple < 0:
                raise EncodeError(path, f"expected an object for a complex element, got {value!r}")
            if value == "" and self.empty_as_ee and U_EE in states[0][3]:
                width, prods, width2, second = states[0][:4]
                self.w.bits(len(prods), width)  # escape to the second level
                self.w.bits(second.index(U_EE), width2)
                self.depth -= 1
                return
            value = {VALUE_KEY: value}
        w = self.w
        datatypes = self.g.datatypes
        trivial = self.g.trivial
        used: dict[str, int] = {}
        done = 0  # keys of ``value`` written in full
        st = 0
        while True:
            state = states[st]
            width = state[0]
            prods = state[1]
            chosen = ee = -1
            code = 0
            for prod in prods:
                kind = prod[0]
                if kind <= K_AT:  # K_SE or K_AT
                    name = prod[1]
                    if name in value:
                        if name in multi:
                            v = value[name]
                            if used.get(name, 0) < (len(v) if isinstance(v, list) else 1):
                                chosen = code
                                break
                        elif name not in used:
                            chosen = code
                            break
                elif kind == K_CH:
                    if VALUE_KEY in value and VALUE_KEY not in used:
                        chosen = code
                        break
                elif kind == K_EE:
                    # EE sorts before CH; mixed content may still have its text to write.
                    ee = code
                code += 1
            if chosen < 0:
                chosen = ee
            if chosen < 0 and not self.strict and done == len(value) and U_EE in state[3]:
                # after an untyped value the declared content is gone: end with a second-level EE
                w.bits(len(prods), width)
                w.bits(state[3].index(U_EE), state[2])
                break
            if chosen < 0:
                expected = [p[1] for p in prods if p[0] in (K_SE, K_AT)] or ["content"]
                raise EncodeError(path, f"missing required {' or '.join(expected)}")
            kind, name, target, arg = prods[chosen]
            if kind == K_EE:
                left = []
                if done != len(value):  # something unwritten, or only an empty list: look closer
                    left = [k for k in value if used.get(k, 0) != _count(value[k], k in multi)]
                if left:
                    if VALUE_KEY in left:
                        raise EncodeError(path, "this element has no simple content")
                    raise EncodeError(path, f"unexpected {', '.join(left)} (not allowed or out of order)")
                if width:
                    w.bits(chosen, width)
                break
            if kind == K_CH and self.empty_as_ee and value[VALUE_KEY] == "" and U_EE in state[3]:
                w.bits(len(prods), width)  # EXIficient's empty value: a second-level EE
                w.bits(state[3].index(U_EE), state[2])
                used[VALUE_KEY] = 1
                done += 1
                if done != len(value):
                    left = [k for k in value if k not in used]
                    raise EncodeError(path, f"unexpected {', '.join(left)} after the empty value")
                break
            if kind == K_CH and not self.strict and not self._fits(datatypes[arg], value[VALUE_KEY]):
                # EXI 1.0 8.5.4.4.1: a value its type cannot represent goes out as CH [untyped value],
                # a second-level event, which is how EXIficient writes such values too.
                w.bits(len(prods), width)
                w.bits(state[3].index(U_CH_ANY), state[2])
                used[VALUE_KEY] = 1
                done += 1
                self.value(UNTYPED_STRING, _lexical(value[VALUE_KEY]), path)
                st = state[4]
                continue
            if width:
                w.bits(chosen, width)
            if kind == K_SE:
                v = value[name]
                if name in multi:
                    if not isinstance(v, list):
                        raise EncodeError((path, name), "an element with maxOccurs > 1 must be a list")
                    i = used.get(name, 0)
                    used[name] = i + 1
                    if i + 1 == len(v):
                        done += 1
                    v = v[i]
                    sub_path = (path, name, i)
                else:
                    used[name] = 1
                    done += 1
                    sub_path = (path, name)
                tdt = trivial[arg]
                if (
                    tdt >= 0
                    and self.strict
                    and v.__class__ is not dict
                    and not (v == "" and self.empty_as_ee)
                ):
                    w.bits(0, 1)  # CH
                    self.value(datatypes[tdt], v, sub_path)
                    w.bits(0, 1)  # EE
                else:
                    self.element(arg, v, sub_path)
            elif kind == K_AT:
                used[name] = 1
                done += 1
                self.value(datatypes[arg], value[name], (path, name))
            else:  # K_CH
                used[VALUE_KEY] = 1
                done += 1
                self.value(datatypes[arg], value[VALUE_KEY], path)
            st = target
        self.depth -= 1

    def relaxed(self, frag_code: int, value, path: str | tuple) -> None:
        """Relaxed element fragment grammar (EXI 1.0 8.5.3): attributes in qname order, the text as an
        untyped string, then the children, then EE."""
        g = self.g
        w = self.w
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise EncodeError(path, "nesting too deep")
        w0, w1 = g.relaxed_widths()
        n = len(g.frag_attrs)
        m = len(g.fragment)
        if not isinstance(value, dict):
            value = {VALUE_KEY: value}
        attr_map = dict(g.fragment[frag_code][3])
        attrs = []
        children = []
        for key, v in value.items():
            if key == VALUE_KEY:
                continue
            if key in attr_map:
                attrs.append((attr_map[key], key, v))
            elif key in g.frag_index:
                for item in v if isinstance(v, list) else [v]:
                    children.append((key, item))
            else:
                raise EncodeError((path, key), "not an attribute or element of this schema")
        for index, key, v in sorted(attrs):
            w.bits(index, w0)
            self.value(g.datatypes[g.frag_attrs[index][2]], v, (path, key))
        first = True
        if VALUE_KEY in value:
            w.bits(n + m + 3, w0)
            self.value(g.datatypes[g.untyped], str(value[VALUE_KEY]), path)
            first = False
        for key, item in children:
            code = g.frag_index[key]
            if first:
                w.bits(n + 1 + code, w0)
                first = False
            else:
                w.bits(code, w1)
            gid = g.fragment[code][2]
            if gid >= 0:
                self.element(gid, item, (path, key))
            else:
                self.relaxed(code, item, (path, key))
        if first:
            w.bits(n + m + 2, w0)
        else:
            w.bits(m + 1, w1)
        self.depth -= 1

    def document(self, msg) -> bytes:
        g = self.g
        if not isinstance(msg, dict) or len(msg) != 1:
            raise EncodeError("", "a message is an object with exactly one root element")
        ((root, content),) = msg.items()
        code = g.doc_index.get(root)
        if code is None:
            raise EncodeError(root, f"not a global element of the {g.name} schema")
        w = self.w
        w.bits(V2G_EXI_HEADER, 8)
        w.bits(code, g.doc_width)
        self.element(g.document[code][2], content, root)
        return w.getvalue()

    def fragment(self, elements: list[tuple[str, object]]) -> bytes:
        """EXI fragment (EXI 1.0 8.5.2): the canonical EXI ISO 15118 signs (xmldsig digests)."""
        g = self.g
        w = self.w
        w.bits(V2G_EXI_HEADER, 8)
        for name, content in elements:
            code = g.frag_index.get(name)
            if code is None:
                raise EncodeError(name, f"not an element of the {g.name} schema")
            gid = g.fragment[code][2]
            w.bits(code, g.frag_width)
            if gid >= 0:
                self.element(gid, content, name)
            else:
                self.relaxed(code, content, name)
        w.bits(len(g.fragment) + 1, g.frag_width)  # ED
        return w.getvalue()


# The datatype of an untyped value: a plain string (EXI 1.0 7.1.10).
UNTYPED_STRING = (DT_STR, 0, -1)


def _lexical(v) -> str:
    """XML lexical form of a JSON value, for CH [untyped value]."""
    if v is True or v is False:
        return "true" if v else "false"
    return str(v)


def _count(v, is_multi: bool) -> int:
    if is_multi and isinstance(v, list):
        return len(v)
    return 1


def _is_int_text(s: str) -> bool:
    t = s[1:] if s[:1] in "+-" else s
    return t.isdigit()


def encode_document(grammar: SchemaGrammar, msg, strict: bool = True, empty_as_ee: bool = False) -> bytes:
    try:
        return Encoder(grammar, strict, empty_as_ee).document(msg)
    except RecursionError as exc:
        raise EncodeError("", "nesting too deep") from exc


def encode_fragment(grammar: SchemaGrammar, elements: list[tuple[str, object]], strict: bool = True) -> bytes:
    return Encoder(grammar, strict).fragment(elements)
