"""parse_xml refuses DTDs, entity expansion and external entities, and reports malformed bodies."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.codec.sep2.document import MAX_XML_BODY_BYTES, Sep2DecodeError, local_name, parse_xml
from harness.codec.sep2.resources import DeviceCapability, EndDevice, parse_any, parse_resource
from harness.codec.sep2.schema import validate

NS = "urn:ieee:std:2030.5:ns"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<DeviceCapability xmlns="urn:ieee:std:2030.5:ns" href="/dcap"><TimeLink href="&lol9;"/></DeviceCapability>
"""


def _external_entity(target: Path) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{target}">]>\n'
        f'<DeviceCapability xmlns="{NS}" href="/dcap"><TimeLink href="&xxe;"/></DeviceCapability>'
    ).encode()


def test_billion_laughs_is_refused_at_the_doctype() -> None:
    with pytest.raises(Sep2DecodeError) as info:
        parse_xml(BILLION_LAUGHS)
    assert "DTD" in info.value.reason
    assert info.value.data == BILLION_LAUGHS
    # The scan stopped at the DOCTYPE, before the first entity declaration was read.
    assert info.value.offset is not None
    assert BILLION_LAUGHS.index(b"<!DOCTYPE") <= info.value.offset < BILLION_LAUGHS.index(b"<!ENTITY")


def test_external_entity_is_refused_and_the_file_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = _external_entity(secret)
    with pytest.raises(Sep2DecodeError) as info:
        parse_xml(body)
    assert "DTD" in info.value.reason
    assert "TOP-SECRET" not in str(info.value)


def test_parameter_entity_and_external_dtd_are_refused(tmp_path: Path) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "LEAKED">')
    for body in (
        f'<!DOCTYPE d SYSTEM "file://{dtd}"><DeviceCapability xmlns="{NS}" href="&leak;"/>'.encode(),
        f'<!DOCTYPE d [<!ENTITY % p SYSTEM "file://{dtd}"> %p;]><Time xmlns="{NS}"/>'.encode(),
    ):
        with pytest.raises(Sep2DecodeError, match="DTD"):
            parse_xml(body)


def test_typed_parsing_and_validation_go_through_the_same_guard() -> None:
    with pytest.raises(Sep2DecodeError, match="DTD"):
        parse_resource(BILLION_LAUGHS, DeviceCapability)
    with pytest.raises(Sep2DecodeError, match="DTD"):
        parse_any(BILLION_LAUGHS)
    with pytest.raises(Sep2DecodeError, match="DTD"):
        validate(BILLION_LAUGHS)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty body"),
        (b"   \n", "empty body"),
        (b"<DeviceCapability xmlns='urn:ieee:std:2030.5:ns'>", "malformed XML"),
        (b"<a><b></a>", "malformed XML"),
        (b"not xml at all", "malformed XML"),
        (b"<a>\xff\xfe</a>", "malformed XML"),
        (b"<a/><b/>", "malformed XML"),
    ],
)
def test_malformed_bodies_raise_one_error_type_with_the_bytes(body: bytes, reason: str) -> None:
    with pytest.raises(Sep2DecodeError) as info:
        parse_xml(body)
    assert reason in info.value.reason
    assert info.value.data == body
    assert repr(body[:20])[2:-1][:10] in str(info.value)


def test_malformed_error_points_at_the_offending_byte() -> None:
    body = b"<Time xmlns='urn:ieee:std:2030.5:ns'><currentTime>1</currentTime><</Time>"
    with pytest.raises(Sep2DecodeError) as info:
        parse_xml(body)
    assert info.value.offset is not None
    assert body[info.value.offset :].startswith(b"<")
    assert info.value.offset > body.index(b"</currentTime>")


def test_oversized_body_is_refused_before_parsing() -> None:
    body = b"<a>" + b"x" * 64 + b"</a>"
    with pytest.raises(Sep2DecodeError, match="exceeds the limit"):
        parse_xml(body, max_bytes=32)
    assert MAX_XML_BODY_BYTES >= 64 * 1024


def test_wrong_root_and_bad_values_are_decode_errors() -> None:
    time_body = f'<Time xmlns="{NS}" href="/tm"><currentTime>1</currentTime></Time>'.encode()
    with pytest.raises(Sep2DecodeError, match="root element"):
        parse_resource(time_body, DeviceCapability)
    bad_value = f'<DeviceCapability xmlns="{NS}" href="/dcap" pollRate="often"/>'.encode()
    with pytest.raises(Sep2DecodeError, match="DeviceCapability") as info:
        parse_resource(bad_value, DeviceCapability)
    assert info.value.data == bad_value
    unknown_child = f'<DeviceCapability xmlns="{NS}" href="/dcap"><Bogus/></DeviceCapability>'.encode()
    with pytest.raises(Sep2DecodeError, match="Bogus"):
        parse_resource(unknown_child, DeviceCapability)
    # Lenient parsing skips the unknown element for a tester that must read past extensions.
    assert parse_resource(unknown_child, DeviceCapability, strict=False).href == "/dcap"
    with pytest.raises(Sep2DecodeError, match="namespace"):
        parse_any(b"<DeviceCapability href='/dcap'/>")
    with pytest.raises(Sep2DecodeError, match="not a resource"):
        parse_any(f'<NoSuchThing xmlns="{NS}"/>'.encode())


def test_ordinary_documents_parse() -> None:
    root = parse_xml(
        b'<?xml version="1.0" encoding="UTF-8"?><!-- c --><Time xmlns="urn:ieee:std:2030.5:ns"/>'
    )
    assert local_name(root) == "Time"
    # Character references are not entities: they stay allowed.
    root = parse_xml(b"<a>&#65;&amp;&lt;</a>")
    assert root.text == "A&<"


# --- mutation fuzzing: whatever a DUT sends, the only failure is Sep2DecodeError -----------------

_VALID = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<EndDevice xmlns="urn:ieee:std:2030.5:ns" href="/edev/1" '
    b'subscribable="0"><sFDI>167261211391</sFDI><changedTime>1700000000</changedTime>'
    b'<FlowReservationRequestListLink href="/edev/1/frq" all="0"/></EndDevice>'
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_bodies_only_ever_raise_decode_errors(data: st.DataObject) -> None:
    body = bytearray(_VALID)
    for _ in range(data.draw(st.integers(1, 6))):
        position = data.draw(st.integers(0, len(body) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip":
            body[position] = data.draw(st.integers(0, 255))
        elif action == "delete":
            del body[position]
        else:
            body[position:position] = data.draw(
                st.sampled_from([b"<", b">", b"&", b'"', b"<!DOCTYPE x>", b"\x00"])
            )
    try:
        parse_any(bytes(body))
        parse_resource(bytes(body), EndDevice)
    except Sep2DecodeError as exc:
        assert exc.data == bytes(body)


def test_unknown_encoding_is_a_decode_error() -> None:
    body = b'<?xml version="1.0" encoding="TF-8"?><Time xmlns="urn:ieee:std:2030.5:ns"/>'
    with pytest.raises(Sep2DecodeError, match="encoding"):
        parse_xml(body)
