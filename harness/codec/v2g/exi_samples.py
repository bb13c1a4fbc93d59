"""Random valid V2G messages, built by walking the EXI grammars (for property and interop tests).

A walk picks, in every grammar state, one declared production and fills in values within the
datatype's facets, so every result is schema-valid and encodes.  The choices come from a ``Chooser``
so that hypothesis (``data.draw``) or a seeded ``random.Random`` can drive the same walk.
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable
from dataclasses import dataclass

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
    VALUE_KEY,
    SchemaGrammar,
)
from harness.codec.v2g.exi_codec import grammar

# ISO 15118-2 and DIN SPEC 70121 wrap every message in V2G_Message/Body; the others send the message
# element itself as the document root.
WRAPPED_SCHEMAS = frozenset({"din", "iso2"})
# Keep samples small: the schemas allow up to 1024 list entries, a test needs a handful.
MAX_SAMPLE_DEPTH = 12
DEFAULT_MAX_TEXT = 12
DEFAULT_MAX_BYTES = 16


@dataclass
class Chooser:
    """Source of choices; ``integer(lo, hi)`` is inclusive."""

    integer: Callable[[int, int], int]
    ascii_only: bool = True
    max_text: int = DEFAULT_MAX_TEXT
    max_bytes: int = DEFAULT_MAX_BYTES
    # 1 keeps every string and binary value non-empty (empty ones have two encodings, see exi_codec)
    min_length: int = 0
    # element names to avoid where the grammar allows (e.g. what a peer's JSON layer cannot take)
    skip: frozenset[str] = frozenset()

    @classmethod
    def from_random(cls, rng: random.Random, **kw) -> Chooser:
        return cls(integer=rng.randint, **kw)


def message_types(schema: str) -> list[str]:
    """Names of the request/response messages of a schema (the Body members for DIN and -2)."""
    g = grammar(schema)
    if schema in WRAPPED_SCHEMAS:
        body = _body_grammar(g)
        return [p[1] for p in g.grammars[body][0][0][1] if p[0] == K_SE and p[1] not in g.abstract]
    return [e[0] for e in g.document if e[0].endswith(("Req", "Res")) and e[0] not in g.abstract]


def _body_grammar(g: SchemaGrammar) -> int:
    v2g = g.document[g.doc_index["V2G_Message"]][2]
    for p in g.grammars[v2g][0][1][1]:
        if p[1] == "Body":
            return p[3]
    raise LookupError("V2G_Message has no Body")


def _header_grammar(g: SchemaGrammar) -> int:
    v2g = g.document[g.doc_index["V2G_Message"]][2]
    return g.grammars[v2g][0][0][1][0][3]


def sample_message(schema: str, message: str, chooser: Chooser) -> dict:
    """A random valid message of the given type, in the codec's dict form."""
    g = grammar(schema)
    if schema in WRAPPED_SCHEMAS:
        body = _body_grammar(g)
        prod = next(p for p in g.grammars[body][0][0][1] if p[0] == K_SE and p[1] == message)
        return {
            "V2G_Message": {
                "Header": _element(g, _header_grammar(g), chooser, 1),
                "Body": {message: _element(g, prod[3], chooser, 2)},
            }
        }
    gid = g.document[g.doc_index[message]][2]
    return {message: _element(g, gid, chooser, 0)}


def _element(g: SchemaGrammar, gid: int, ch: Chooser, depth: int):
    states, multi, simple, wrap = g.grammars[gid]
    out: dict = {}
    text = None
    st = 0
    while True:
        # Mixed-content text (xmldsig) is left out: the dict form cannot place it between children.
        usable = [
            p
            for p in states[st][1]
            if (p[0] == K_SE and p[1] not in g.abstract)
            or p[0] in (K_AT, K_EE)
            or (p[0] == K_CH and simple >= 0)
        ]
        prods = [p for p in usable if p[1] not in ch.skip] or usable
        # Below the depth limit and with EE on offer, end; an optional item is taken half the time.
        has_ee = any(p[0] == K_EE for p in prods)
        if has_ee and (depth >= MAX_SAMPLE_DEPTH or ch.integer(0, 1) == 0):
            break
        candidates = [p for p in prods if p[0] != K_EE]
        # A name already written (e.g. a repeated element of a choice loop) must stay adjacent, or the
        # dict form (grouped by name) would not re-encode in the same order.
        candidates = [p for p in candidates if not (p[1] in out and p[0] == K_SE and _last_name(out) != p[1])]
        if not candidates:
            if has_ee:
                break
            raise LookupError(f"grammar {gid} state {st} has no usable production")
        kind, name, target, arg = candidates[ch.integer(0, len(candidates) - 1)]
        if kind == K_SE:
            child = _element(g, arg, ch, depth + 1)
            if name in multi:
                out.setdefault(name, []).append(child)
            else:
                out[name] = child
        elif kind == K_AT:
            out[name] = _value(g.datatypes[arg], ch)
        else:
            text = _value(g.datatypes[arg], ch)
        st = target
    if text is not None:
        if not wrap:
            return text
        out[VALUE_KEY] = text
    return out


def _last_name(out: dict) -> str | None:
    return next(reversed(out)) if out else None


def _value(dt: tuple, ch: Chooser):
    kind = dt[0]
    if kind == DT_BOOL:
        return ch.integer(0, 1) == 1
    if kind == DT_NBIT:
        return ch.integer(dt[1], dt[2])
    if kind == DT_UINT:
        hi = dt[2] if dt[2] is not None else (1 << 80)
        return _skewed(ch, max(dt[1] or 0, 0), hi)
    if kind == DT_INT:
        lo = dt[1] if dt[1] is not None else -(1 << 80)
        hi = dt[2] if dt[2] is not None else (1 << 80)
        return _skewed(ch, lo, hi)
    if kind == DT_ENUM:
        return dt[1][ch.integer(0, len(dt[1]) - 1)]
    if kind == DT_STR:
        lo, hi = max(dt[1], ch.min_length), dt[2] if dt[2] >= 0 else ch.max_text
        n = ch.integer(lo, max(lo, min(hi, ch.max_text)))
        if ch.ascii_only:
            alphabet = string.ascii_letters + string.digits + "-_.:/#"
            return "".join(alphabet[ch.integer(0, len(alphabet) - 1)] for _ in range(n))
        return "".join(chr(_code_point(ch)) for _ in range(n))
    if kind in (DT_HEX, DT_B64):
        lo, hi = max(dt[1], ch.min_length), dt[2] if dt[2] >= 0 else ch.max_bytes
        n = ch.integer(lo, max(lo, min(hi, ch.max_bytes)))
        data = bytes(ch.integer(0, 255) for _ in range(n))
        return data.hex().upper() if kind == DT_HEX else base64.b64encode(data).decode("ascii")
    raise ValueError(f"unsupported datatype {dt!r}")


def _skewed(ch: Chooser, lo: int, hi: int) -> int:
    """Mostly small numbers (the common case on the wire), sometimes the bounds, sometimes anything."""
    pick = ch.integer(0, 3)
    if pick == 0:
        return lo
    if pick == 1:
        return hi
    if pick == 2:
        return ch.integer(max(lo, -1000), min(hi, 1000)) if lo <= 1000 and hi >= -1000 else ch.integer(lo, hi)
    return ch.integer(lo, hi)


def _code_point(ch: Chooser) -> int:
    c = ch.integer(1, 0x10FFFF)
    return c if not 0xD800 <= c <= 0xDFFF else 0x41
