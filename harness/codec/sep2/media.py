"""IEEE 2030.5 media type and namespace constants."""

from __future__ import annotations

# IEEE 2030.5-2018 clause 5.4 (HTTP resource representations): XML bodies use this media type
# (registered with IANA); servers and clients put it in Content-Type and Accept.
MEDIA_TYPE_SEP_XML = "application/sep+xml"
# The EXI representation of the same resources (IEEE 2030.5 clause 5.4); the harness does not
# produce it but recognises it so a DUT offering only EXI is reported precisely.
MEDIA_TYPE_SEP_EXI = "application/sep-exi"

# IEEE 2030.5 schema target namespace (sep.xsd targetNamespace).
SEP_NAMESPACE = "urn:ieee:std:2030.5:ns"

# sep.xsd 'version' attribute of the 2023 edition the typed models were generated from; the
# schemaVer attribute on top-level elements carries it.
SEP_SCHEMA_VERSION = "2.2"


def is_sep_xml(content_type: str | None) -> bool:
    """True when a Content-Type header names the IEEE 2030.5 XML media type (parameters ignored)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == MEDIA_TYPE_SEP_XML
