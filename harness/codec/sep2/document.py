"""Safe parsing of IEEE 2030.5 XML bodies.

Every XML body the harness reads comes from a device under test, so it is hostile until proven
otherwise.  IEEE 2030.5 payloads never need a document type declaration, so :func:`parse_xml`
refuses any DTD outright (and with it internal entity declarations: billion laughs, quadratic
blow-up) and never resolves external entities or fetches anything.  The check runs in a first pass
with expat, which stops at the DOCTYPE before a single entity is declared; the tree is then built by
lxml with entity resolution and network access switched off, as a second line of defence.

Pure bytes -> tree: no I/O.  Every failure is a :class:`Sep2DecodeError` carrying the offending
bytes and, where the parser knows it, the byte offset, so a malformed body from a DUT becomes
evidence for a FAIL verdict rather than a crash.
"""

from __future__ import annotations

import xml.parsers.expat
from typing import NoReturn

from lxml import etree

# Upper bound on a body the codec will look at.  IEEE 2030.5 does not cap resource sizes; lists are
# paged (clause 5.5.3.3 / 'limit' query), so real resources stay in the tens of kilobytes.  1 MiB
# leaves ample room and keeps a hostile body from costing unbounded memory.
MAX_XML_BODY_BYTES = 1024 * 1024

# How many bytes of the offending body an error message quotes; the full bytes stay on the error.
_SNIPPET_BYTES = 120


class Sep2DecodeError(ValueError):
    """A body is not an acceptable IEEE 2030.5 XML document.

    ``data`` is the whole offending body, ``offset`` the byte offset of the problem when known,
    ``reason`` a one-line explanation a lab engineer understands.
    """

    def __init__(self, reason: str, data: bytes, offset: int | None = None) -> None:
        where = f" at byte {offset}" if offset is not None else ""
        snippet = data[:_SNIPPET_BYTES]
        more = "..." if len(data) > _SNIPPET_BYTES else ""
        super().__init__(f"{reason}{where}; body ({len(data)} bytes): {snippet!r}{more}")
        self.reason = reason
        self.data = bytes(data)
        self.offset = offset


class _Refused(Exception):
    """Raised from an expat callback to stop the scan at the first forbidden construct."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _refuse_doctype(*_args: object) -> NoReturn:
    raise _Refused("document type declarations (DTDs) are not accepted in IEEE 2030.5 bodies")


def _refuse_entity(*_args: object) -> NoReturn:
    raise _Refused("entity declarations are not accepted in IEEE 2030.5 bodies")


def _refuse_external(*_args: object) -> NoReturn:
    raise _Refused("external entity references are not accepted in IEEE 2030.5 bodies")


def _scan(data: bytes) -> None:
    """First pass: well-formedness and the DTD/entity ban, stopping at the first problem."""
    scanner = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    scanner.StartDoctypeDeclHandler = _refuse_doctype
    scanner.EntityDeclHandler = _refuse_entity
    scanner.UnparsedEntityDeclHandler = _refuse_entity
    scanner.ExternalEntityRefHandler = _refuse_external
    try:
        scanner.Parse(data, True)
    except _Refused as exc:
        raise Sep2DecodeError(exc.reason, data, scanner.CurrentByteIndex) from None
    except xml.parsers.expat.ExpatError as exc:
        what = xml.parsers.expat.ErrorString(exc.code)
        reason = f"malformed XML: {what} (line {exc.lineno}, column {exc.offset})"
        offset = scanner.ErrorByteIndex if scanner.ErrorByteIndex >= 0 else None
        raise Sep2DecodeError(reason, data, offset) from None
    except (LookupError, ValueError) as exc:
        # An encoding declaration naming a codec Python lacks (LookupError) or cannot use.
        raise Sep2DecodeError(f"unusable XML encoding declaration: {exc}", data, 0) from None


def _tree_parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers keep state and are not safe to share between threads.
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: bytes, *, max_bytes: int = MAX_XML_BODY_BYTES) -> etree._Element:
    """The root element of ``data``, parsed safely; :class:`Sep2DecodeError` for anything else.

    Refused: empty or oversized bodies, text that is not well-formed XML, any DOCTYPE (so any
    entity declaration), external entities.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"parse_xml takes bytes, not {type(data).__name__}")
    data = bytes(data)
    if not data.strip():
        raise Sep2DecodeError("empty body", data, 0)
    if len(data) > max_bytes:
        raise Sep2DecodeError(f"body of {len(data)} bytes exceeds the limit of {max_bytes} bytes", data)
    _scan(data)
    try:
        root = etree.fromstring(data, parser=_tree_parser())
    except etree.XMLSyntaxError as exc:  # expat accepted it, libxml2 did not: still malformed
        raise Sep2DecodeError(f"malformed XML: {exc.msg}", data) from None
    except (LookupError, ValueError) as exc:
        raise Sep2DecodeError(f"unusable XML document: {exc}", data) from None
    if root is None:
        raise Sep2DecodeError("no root element", data)
    return root


def local_name(element: etree._Element) -> str:
    """The element's name without its namespace."""
    return etree.QName(element).localname


def namespace_of(element: etree._Element) -> str | None:
    """The element's namespace URI, or None when it has none."""
    return etree.QName(element).namespace
