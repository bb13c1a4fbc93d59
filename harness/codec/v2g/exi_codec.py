"""EXI encode/decode of V2G messages (AppProtocol, DIN SPEC 70121, ISO 15118-2, ISO 15118-20).

Messages are plain JSON-compatible dicts shaped as josev/EXIficient print them: element local names as
keys, an element that may repeat is always a list, hexBinary as upper-case hex, base64Binary as
base64 text, enumerations by name, integers as ints, booleans as bools; an element with attributes
and simple content keeps its value under ``"value"``.

    >>> decode("app", bytes.fromhex("80400040"))
    {'supportedAppProtocolRes': {'ResponseCode': 'OK_SuccessfulNegotiation', 'SchemaID': 1}}
"""

from __future__ import annotations

import hashlib
import importlib
from functools import cache

from harness.codec.exi.decoder import decode_document, decode_fragment
from harness.codec.exi.encoder import encode_document, encode_fragment
from harness.codec.exi.errors import DecodeError, EncodeError
from harness.codec.exi.grammar import SchemaGrammar

__all__ = [
    "DecodeError",
    "EncodeError",
    "NAMESPACE_SCHEMAS",
    "PAYLOAD_TYPE_SCHEMAS",
    "SCHEMAS",
    "decode",
    "decode_fragment_bytes",
    "encode",
    "encode_fragment_bytes",
    "fragment_digest",
    "grammar",
    "schema_for",
]

# CLI schema name -> generated grammar module under harness/codec/v2g/grammars/
SCHEMAS: dict[str, str] = {
    "app": "app",
    "din": "din",
    "iso2": "iso2",
    "iso20-common": "iso20_common",
    "iso20-ac": "iso20_ac",
    "iso20-dc": "iso20_dc",
    "iso20-acdp": "iso20_acdp",
    "iso20-wpt": "iso20_wpt",
    # xmldsig alone: the schema SignedInfo is canonicalised with (fragment use only)
    "xmldsig": "xmldsig",
}

# Namespace of the message set (supportedAppProtocol ProtocolNamespace / the XSD target namespace).
NAMESPACE_SCHEMAS: dict[str, str] = {
    "urn:iso:15118:2:2010:AppProtocol": "app",
    "urn:din:70121:2012:MsgDef": "din",
    "urn:iso:15118:2:2013:MsgDef": "iso2",
    "urn:iso:15118:2:2010:MsgDef": "iso2",  # ISO 15118-2 DIS namespace some EVs still offer
    "urn:iso:std:iso:15118:-20:CommonMessages": "iso20-common",
    "urn:iso:std:iso:15118:-20:AC": "iso20-ac",
    "urn:iso:std:iso:15118:-20:DC": "iso20-dc",
    "urn:iso:std:iso:15118:-20:ACDP": "iso20-acdp",
    "urn:iso:std:iso:15118:-20:WPT": "iso20-wpt",
}

# ISO 15118-20 Table 15 / ISO 15118-2 Table 10: V2GTP payload types that carry EXI.  0x8001 carries
# supportedAppProtocol, DIN and ISO 15118-2 alike; which one follows from the negotiated namespace.
PAYLOAD_TYPE_SCHEMAS: dict[int, str | None] = {
    0x8001: None,  # SAP, DIN SPEC 70121 or ISO 15118-2: decided by the session's negotiated namespace
    0x8002: "iso20-common",
    0x8003: "iso20-ac",
    0x8004: "iso20-dc",
    0x8005: "iso20-acdp",
    0x8006: "iso20-wpt",
}


@cache
def grammar(schema: str) -> SchemaGrammar:
    """The grammar set for a CLI schema name (loaded once)."""
    try:
        module_name = SCHEMAS[schema]
    except KeyError:
        raise ValueError(f"unknown EXI schema {schema!r}; one of {', '.join(SCHEMAS)}") from None
    module = importlib.import_module(f"harness.codec.v2g.grammars.{module_name}")
    return SchemaGrammar.from_module(module)


def schema_for(namespace: str | None = None, payload_type: int | None = None) -> str | None:
    """The schema name for a namespace URN or, for ISO 15118-20, a V2GTP payload type."""
    if namespace is not None and namespace in NAMESPACE_SCHEMAS:
        return NAMESPACE_SCHEMAS[namespace]
    if payload_type is not None:
        return PAYLOAD_TYPE_SCHEMAS.get(payload_type)
    return None


def decode(schema: str, data: bytes) -> dict:
    """Decode one EXI document; raises DecodeError (with ``offset_bits``) on anything invalid."""
    return decode_document(grammar(schema), bytes(data))


def encode(schema: str, msg: dict, strict: bool = True, empty_as_ee: bool = False) -> bytes:
    """Encode one message; raises EncodeError naming the path and the rule.

    ``strict=False`` skips the facet checks (ranges, lengths) that the EXI representation itself does
    not need, and writes a value its type cannot represent at all (an out-of-range n-bit integer, an
    unknown enumeration name) as an untyped string, as EXIficient does: a conformance tester can
    craft such messages on purpose.  Empty simple values
    are written as real EVs and the C stacks write them (a zero-length value); ``empty_as_ee=True``
    writes EXIficient's form instead (a second-level EE), to test a peer's decoder with both.
    """
    return encode_document(grammar(schema), msg, strict, empty_as_ee)


def encode_fragment_bytes(schema: str, elements: list[tuple[str, object]]) -> bytes:
    """Canonical EXI of one or more elements (EXI fragment grammar), as xmldsig digests use it."""
    return encode_fragment(grammar(schema), elements)


def decode_fragment_bytes(schema: str, data: bytes) -> dict:
    return decode_fragment(grammar(schema), bytes(data))


def fragment_digest(schema: str, name: str, content: object) -> bytes:
    """SHA-256 over the EXI fragment of one element: ISO 15118-2 clause 7.9.2.4.2 DigestValue."""
    return hashlib.sha256(encode_fragment_bytes(schema, [(name, content)])).digest()
