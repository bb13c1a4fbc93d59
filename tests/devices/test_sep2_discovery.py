"""IEEE 2030.5 reference devices and testers: how a client finds its server, the DUT's and the
tester's identities from the PIXIT, and the placeholders a process DUT's command gets."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from types import MappingProxyType

import pytest

from harness.devices.sep2.common import (
    DNSSD_OPTION,
    ServerLocation,
    SimClock,
    advertisement,
    dnssd_enabled,
    dut_identity,
    find_server,
    parse_server_url,
    process_placeholders,
    registration_pin,
    server_url,
)
from harness.devices.sep2.common import tester_identity as identity_of_tester
from harness.devices.sep2.pfe import Sep2Server
from harness.devices.sep2.servers import registered_devices
from harness.devices.settings import DeviceSettings
from harness.pki.hierarchy import init_pki
from harness.pki.store import load_identity, trust_anchor
from harness.transport.dnssd import HARNESS_SUBTYPES, SEP2_SERVICE_TYPE
from harness.transport.link import Link


@pytest.fixture(scope="module")
def lab_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sep2") / "pki"
    init_pki(
        directory, ("pfe-server", "bms", "ev", "evse", "dc-charger", "telematics", "meter", "unregistered")
    )
    return directory


@pytest.fixture(scope="module")
def own_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DUT vendor's PKI, unrelated to the lab's."""
    directory = tmp_path_factory.mktemp("vendor") / "pki"
    init_pki(directory, ("evse", "bms"))
    return directory


def _settings(lab_pki: Path, **certificates: Path) -> DeviceSettings:
    return DeviceSettings(certificates=MappingProxyType({"sep2_pki": lab_pki, **certificates}))


def test_server_url_round_trip() -> None:
    assert parse_server_url("https://[fe80::1]:8443/dcap") == ServerLocation("fe80::1", 8443, "/dcap", "url")
    assert parse_server_url("https://[fe80::1%25eth1]:9443/sep2/dcap").host == "fe80::1%eth1"
    assert parse_server_url("https://192.0.2.7/dcap").port == 443
    assert server_url("fe80::1", 8443, "vgi-dut0") == "https://[fe80::1%25vgi-dut0]:8443/dcap"
    assert server_url("::1", 8443, "lo") == "https://[::1]:8443/dcap"
    with pytest.raises(ValueError):
        parse_server_url("http://[fe80::1]/dcap")


def test_dnssd_follows_the_pics_option() -> None:
    assert dnssd_enabled(DeviceSettings(supported=frozenset({DNSSD_OPTION})))
    assert not dnssd_enabled(DeviceSettings())
    assert not dnssd_enabled(None)


def test_a_pixit_url_wins_over_discovery() -> None:
    settings = DeviceSettings(
        supported=frozenset({DNSSD_OPTION}),
        addresses=MappingProxyType({"sep2_server": "https://[fe80::9]:1443/x/dcap"}),
    )
    link = Link("interface", "eth-none", "fe80::2")
    assert asyncio.run(find_server(link, settings)) == ServerLocation("fe80::9", 1443, "/x/dcap", "url")
    loopback = Link("loopback", "lo", "::1")
    assert asyncio.run(find_server(loopback, DeviceSettings())).via == "loopback"


def test_the_lab_pki_identity_and_a_pixit_dut_certificate(lab_pki: Path, own_pki: Path) -> None:
    plain = _settings(lab_pki)
    assert dut_identity("evse", plain).lfdi == load_identity(lab_pki, "evse").lfdi
    theirs = _settings(
        lab_pki,
        dut_cert=own_pki / "evse" / "chain.pem",
        dut_key=own_pki / "evse" / "key.pem",
        trust_anchor=trust_anchor(own_pki),
    )
    dut = dut_identity("evse", theirs)
    assert dut.lfdi == load_identity(own_pki, "evse").lfdi
    assert dut.trust_anchor_path == trust_anchor(own_pki)
    # The servers register the DUT's LFDI from its certificate.
    registered = registered_devices(theirs)
    assert registered[dut.lfdi] == "dut"
    assert Sep2Server(SimClock(), registered).device_index(dut.lfdi) is not None


def test_the_tester_uses_pixit_credentials_when_the_dut_brings_its_pki(lab_pki: Path, own_pki: Path) -> None:
    assert identity_of_tester("bms", _settings(lab_pki)).lfdi == load_identity(lab_pki, "bms").lfdi
    theirs = _settings(
        lab_pki,
        trust_anchor=trust_anchor(own_pki),
        tester_cert=own_pki / "bms" / "chain.pem",
        tester_key=own_pki / "bms" / "key.pem",
    )
    mine = identity_of_tester("bms", theirs)
    assert mine.lfdi == load_identity(own_pki, "bms").lfdi
    assert mine.key_path == own_pki / "bms" / "key.pem" and mine.trust_anchor_path == trust_anchor(own_pki)
    # Only the trust anchor given: the lab's certificate, the DUT's anchor.
    anchored = identity_of_tester("bms", _settings(lab_pki, trust_anchor=trust_anchor(own_pki)))
    assert anchored.lfdi == load_identity(lab_pki, "bms").lfdi
    assert anchored.trust_anchor_path == trust_anchor(own_pki)


def test_registration_pin_from_pixit() -> None:
    assert registration_pin(DeviceSettings()) == 111115
    assert registration_pin(DeviceSettings(sep2_registration_pin=123453)) == 123453
    assert Sep2Server(SimClock(), {}, registration_pin=123453).registration(1).p_in.value == 123453


def test_process_placeholders(lab_pki: Path) -> None:
    link = Link("netns", "vgi1t", "fe80::1", "fe80::2", "vgi-dut")
    argv = (
        "client",
        "--url",
        "{dcap_url}",
        "--cert",
        "{dut_cert}",
        "{dut_key}",
        "{trust_anchor}",
        "{pki_dir}",
    )
    values = process_placeholders("evse", argv, _settings(lab_pki), link, "vgi-dut0")
    evse = load_identity(lab_pki, "evse")
    assert values["dcap_url"] == "https://[fe80::1%25vgi-dut0]:8443/dcap"
    assert values["tester_host"] == "fe80::1%vgi-dut0" and values["tester_port"] == "8443"
    assert values["dut_cert"] == str(evse.chain_path) and values["dut_key"] == str(evse.key_path)
    assert values["trust_anchor"] == str(trust_anchor(lab_pki)) and values["pki_dir"] == str(lab_pki)
    assert values["dut_lfdi"] == evse.lfdi and values["dut_sfdi"] == str(evse.sfdi)
    assert " ".join(argv).format(interface="x", **values)
    # A command without 2030.5 placeholders computes nothing (no PKI for a DIN or SLAC DUT).
    assert process_placeholders("secc", ("run", "{interface}"), DeviceSettings(), link, "vgi-dut0") == {}
    loopback = process_placeholders(
        "evse", ("{tester_host}", "{dcap_url}"), DeviceSettings(), Link("loopback", "lo", "::1"), "lo"
    )
    assert loopback == {"tester_host": "::1", "tester_port": "8443", "dcap_url": "https://[::1]:8443/dcap"}


def test_advertisement_names_the_function_set_subtypes() -> None:
    ad = advertisement(Link("loopback", "lo", "::1"), f"vgi-test-{secrets.token_hex(3)}")
    assert ad.subtypes == HARNESS_SUBTYPES and "edev" in ad.subtypes
    assert list(ad.properties) == ["txtvers", "dcap", "https", "level"]
    assert ad.addresses == ("::1",) and ad.interfaces == ("127.0.0.1",)
    assert SEP2_SERVICE_TYPE == "_smartenergy._tcp.local."
