"""DNS-SD `_smartenergy._tcp`: TXT record layout, and advertise + browse over mDNS on loopback."""

from __future__ import annotations

import asyncio
import secrets
import socket
import struct

import pytest

from harness.transport.dnssd import (
    EDEV_SUBTYPE,
    HARNESS_SUBTYPES,
    SEP2_SERVICE_TYPE,
    SEP2_SUBTYPE_NAMES,
    Advertisement,
    DiscoveryError,
    Sep2Service,
    browse,
    parse_txt,
    subtype_service_type,
    txt_properties,
)

MDNS_GROUP = "224.0.0.251"


def test_txt_keys_in_2030_5_order() -> None:
    properties = txt_properties("/dcap", 8443, "-S1")
    assert list(properties) == ["txtvers", "dcap", "https", "level"]
    assert properties == {"txtvers": "1", "dcap": "/dcap", "https": "8443", "level": "-S1"}
    with pytest.raises(ValueError):
        txt_properties("dcap", 8443)
    with pytest.raises(ValueError):
        txt_properties("/dcap", 70000)


def test_parse_txt_keeps_wire_order() -> None:
    rdata = b"\x09txtvers=1\x0adcap=/dcap\x0ahttps=8443\x09level=-S1\x00\x04flag"
    assert parse_txt(rdata) == (
        ("txtvers", "1"),
        ("dcap", "/dcap"),
        ("https", "8443"),
        ("level", "-S1"),
        ("flag", None),
    )
    service = Sep2Service("pfe", "pfe.local.", ("127.0.0.1",), 8443, parse_txt(rdata))
    assert service.txtvers_first and service.dcap_path == "/dcap" and service.https_port == 8443
    assert not Sep2Service("x", "", (), 1, (("dcap", "/d"), ("txtvers", "1"))).txtvers_first
    with pytest.raises(DiscoveryError, match="truncated"):
        parse_txt(b"\x09txtv")


def _loopback_multicast_works() -> str | None:
    """None when a multicast datagram sent out of 127.0.0.1 comes back; otherwise why not."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        receiver.bind(("", 0))
        receiver.settimeout(2.0)
        membership = struct.pack("4s4s", socket.inet_aton(MDNS_GROUP), socket.inet_aton("127.0.0.1"))
        receiver.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        token = secrets.token_bytes(8)
        sender.sendto(token, (MDNS_GROUP, receiver.getsockname()[1]))
        return None if receiver.recv(64) == token else "wrong datagram received"
    except OSError as exc:
        return f"multicast on loopback unavailable: {exc}"
    finally:
        receiver.close()
        sender.close()


def test_advertise_and_browse_on_loopback() -> None:
    reason = _loopback_multicast_works()
    if reason is not None:
        pytest.skip(reason)
    # A unique instance name: other processes on this host may advertise and browse at the same time.
    instance = f"vgi-test-pfe-{secrets.token_hex(4)}"

    async def run() -> list[Sep2Service]:
        async with Advertisement(instance, 48443, dcap_path="/sep2/dcap", level="-S1"):
            return await browse(timeout_s=10, instance=instance)

    found = asyncio.run(run())
    assert len(found) == 1
    service = found[0]
    assert service.instance == instance
    assert service.addresses == ("127.0.0.1",) and service.port == 48443
    assert service.txtvers_first
    assert [key for key, _value in service.txt] == ["txtvers", "dcap", "https", "level"]
    assert (service.dcap_path, service.https_port, service.level) == ("/sep2/dcap", 48443, "-S1")
    assert SEP2_SERVICE_TYPE == "_smartenergy._tcp.local."


def test_browse_without_a_server_finds_nothing_of_ours() -> None:
    reason = _loopback_multicast_works()
    if reason is not None:
        pytest.skip(reason)
    instance = f"vgi-absent-{secrets.token_hex(4)}"
    assert asyncio.run(browse(timeout_s=0.5, instance=instance)) == []


def test_subtype_names_and_txt_path() -> None:
    assert subtype_service_type("edev") == "_edev._sub._smartenergy._tcp.local."
    assert EDEV_SUBTYPE in SEP2_SUBTYPE_NAMES and set(HARNESS_SUBTYPES) <= set(SEP2_SUBTYPE_NAMES)
    with pytest.raises(ValueError):
        subtype_service_type("bad name")
    assert list(txt_properties("/dcap", 8443, path="/edev")) == ["txtvers", "dcap", "path", "https", "level"]
    with pytest.raises(ValueError):
        txt_properties("/dcap", 8443, path="edev")


def test_the_edev_subtype_finds_the_server_holding_the_end_device() -> None:
    reason = _loopback_multicast_works()
    if reason is not None:
        pytest.skip(reason)
    instance = f"vgi-test-sub-{secrets.token_hex(4)}"

    async def run() -> list[Sep2Service]:
        async with Advertisement(instance, 48444, subtypes={"edev": "/edev", "tm": "/tm"}):
            return await browse(
                timeout_s=10, instance=f"{instance}-edev", service_type=subtype_service_type("edev")
            )

    found = asyncio.run(run())
    assert len(found) == 1
    service = found[0]
    assert service.txtvers_first and service.path == "/edev" and service.https_port == 48444
    assert service.dcap_path == "/dcap"
