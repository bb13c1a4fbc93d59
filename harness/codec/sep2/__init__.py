"""IEEE 2030.5 resources and safe XML handling.

``document``: :func:`parse_xml` (no DTDs, no entities) and :class:`Sep2DecodeError`;
``media``: the ``application/sep+xml`` media type and namespace; ``resources``: typed resources
(py20305) with :func:`serialise` / :func:`parse_resource`; ``values``: code points and value
constructors (times, mRIDs, bitmaps, power and energy); ``schema``: validation against sep.xsd.
"""

from harness.codec.sep2.document import MAX_XML_BODY_BYTES, Sep2DecodeError, parse_xml
from harness.codec.sep2.media import MEDIA_TYPE_SEP_XML, SEP_NAMESPACE, is_sep_xml

__all__ = [
    "MAX_XML_BODY_BYTES",
    "MEDIA_TYPE_SEP_XML",
    "SEP_NAMESPACE",
    "Sep2DecodeError",
    "is_sep_xml",
    "parse_xml",
]
