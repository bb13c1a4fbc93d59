"""mDNS / DNS-SD datagrams on the timeline: IEEE 2030.5 queries and advertisements (harness/codec/mdns.py)."""

from __future__ import annotations

import pytest
from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRRSRV

from harness.codec.mdns import summarise


def _answer(txt: list[bytes], port: int = 8443) -> bytes:
    instance = "pfe._smartenergy._tcp.local."
    return bytes(
        DNS(
            qr=1,
            aa=1,
            an=[DNSRR(rrname="_smartenergy._tcp.local.", type="PTR", rdata=instance)],
            ar=[
                DNSRRSRV(rrname=instance, port=port, target="pfe.local."),
                DNSRR(rrname=instance, type="TXT", rdata=txt),
                DNSRR(rrname="_edev._sub._smartenergy._tcp.local.", type="PTR", rdata=instance),
            ],
        )
    )


def test_query_for_the_service_or_a_subtype() -> None:
    plain = bytes(DNS(qd=[DNSQR(qname="_smartenergy._tcp.local.", qtype="PTR")]))
    assert summarise(plain) == ("query", {"questions": ["PTR _smartenergy._tcp.local."], "smartenergy": True})
    sub = bytes(DNS(qd=[DNSQR(qname="_edev._sub._smartenergy._tcp.local.", qtype="PTR")]))
    message, fields = summarise(sub)
    assert message == "query" and fields["smartenergy"] and fields["subtypes_queried"] == ["edev"]
    other = bytes(DNS(qd=[DNSQR(qname="_http._tcp.local.", qtype="PTR")]))
    assert summarise(other)[1]["smartenergy"] is False


def test_advertisement_fields() -> None:
    message, fields = summarise(_answer([b"txtvers=1", b"dcap=/dcap", b"https=8443", b"level=-S1"]))
    assert message == "response"
    assert fields["smartenergy"] and fields["instance"] == "pfe._smartenergy._tcp.local."
    assert fields["srv_port"] == 8443 and fields["txt_first"] == "txtvers"
    assert fields["txt_keys"] == ["txtvers", "dcap", "https", "level"]
    assert (fields["txt_dcap"], fields["txt_https"], fields["txt_level"]) == ("/dcap", 8443, "-S1")
    assert fields["subtypes"] == ["edev"]


def test_txtvers_not_first_is_visible() -> None:
    fields = summarise(_answer([b"dcap=/dcap", b"txtvers=1", b"https=8443"]))[1]
    assert fields["txt_first"] == "dcap"


def test_garbage_is_a_value_error_not_a_crash() -> None:
    with pytest.raises(ValueError):
        summarise(b"\x00")
