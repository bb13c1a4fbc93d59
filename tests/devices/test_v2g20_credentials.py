"""The ISO 15118-20 credentials of the reference devices and testers (harness.devices.v2g20_credentials):
the lab's PKI directory (PIXIT ``v2g20_pki``, else a per-user cache made once, race-safe), and TLS 1.3
contexts from it that authenticate both sides, or, from the negative entries, that the other side refuses."""

from __future__ import annotations

import ssl
import threading
from pathlib import Path
from types import MappingProxyType

import pytest

from harness.devices.settings import DeviceSettings
from harness.devices.v2g20_credentials import (
    PIXIT_V2G20_PKI_KEY,
    ensure_v2g20_pki,
    evcc_tls20,
    secc_tls20,
    v2g20_credentials,
    v2g20_pki_directory,
)
from harness.pki.v2g20 import (
    MANIFEST_NAME,
    SECC_ED448,
    SECC_EXPIRED,
    SECC_UNTRUSTED,
    VEHICLE,
    VEHICLE_ED448,
    VEHICLE_UNTRUSTED,
)
from harness.transport.v2g20_tls import assert_iso20_negotiated


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> DeviceSettings:
    directory = ensure_v2g20_pki(tmp_path_factory.mktemp("lab") / "v2g20")
    return DeviceSettings(certificates=MappingProxyType({PIXIT_V2G20_PKI_KEY: directory}))


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> tuple[object, object]:
    """Both ends of one in-memory handshake: each its SSLObject once done, or the SSLError it raised."""
    s_in, s_out, c_in, c_out = (ssl.MemoryBIO() for _ in range(4))
    ends = {
        "server": server.wrap_bio(s_in, s_out, server_side=True),
        "client": client.wrap_bio(c_in, c_out, server_side=False),
    }
    results: dict[str, object] = {}
    for _ in range(10):
        for name, end in ends.items():
            if name in results:
                continue
            try:
                end.do_handshake()
                results[name] = end
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as exc:
                results[name] = exc
        c_in.write(s_out.read())
        s_in.write(c_out.read())
    # A TLS 1.3 server reads the client's certificate after the client finished: one record more.
    server_end = ends["server"]
    if isinstance(results.get("server"), ssl.SSLObject):
        try:
            server_end.write(b"S")
            c_in.write(s_out.read())
            ends["client"].read(1)
        except ssl.SSLError as exc:
            results["client"] = exc
    return results.get("server"), results.get("client")


def test_the_lab_pki_or_a_cache_made_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab = DeviceSettings(certificates=MappingProxyType({PIXIT_V2G20_PKI_KEY: tmp_path / "lab-pki"}))
    assert v2g20_pki_directory(lab) == tmp_path / "lab-pki"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cache = v2g20_pki_directory()
    assert cache == tmp_path / "cache" / "vgi" / "v2g20-pki"
    # several creators at once: one PKI, no half-made one, no scratch left over
    threads = [threading.Thread(target=v2g20_credentials) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    manifest = cache / MANIFEST_NAME
    created = manifest.read_bytes()
    assert v2g20_credentials(None, VEHICLE).chain_path.is_relative_to(cache)
    assert manifest.read_bytes() == created  # made once
    assert [p.name for p in cache.parent.iterdir()] == ["v2g20-pki"]


@pytest.mark.parametrize(("secc_entry", "evcc_entry"), [("secc", VEHICLE), (SECC_ED448, VEHICLE_ED448)])
def test_secc_and_evcc_authenticate_each_other(settings: DeviceSettings, secc_entry: str, evcc_entry: str):
    server, client = _handshake(
        secc_tls20(settings, entry=secc_entry), evcc_tls20(settings, entry=evcc_entry)
    )
    assert isinstance(server, ssl.SSLObject) and isinstance(client, ssl.SSLObject), (server, client)
    assert assert_iso20_negotiated(client).version == "TLSv1.3"
    assert server.getpeercert()  # the vehicle certificate, verified


@pytest.mark.parametrize(
    ("entry", "reason"),
    [(SECC_EXPIRED, "certificate has expired"), (SECC_UNTRUSTED, "unable to get local issuer")],
)
def test_the_evcc_refuses_the_negative_secc_entries(
    settings: DeviceSettings, entry: str, reason: str
) -> None:
    _, client = _handshake(secc_tls20(settings, entry=entry), evcc_tls20(settings))
    assert isinstance(client, ssl.SSLCertVerificationError) and reason in client.verify_message


def test_the_secc_refuses_a_foreign_vehicle_or_none(settings: DeviceSettings) -> None:
    server, _ = _handshake(secc_tls20(settings), evcc_tls20(settings, entry=VEHICLE_UNTRUSTED))
    assert isinstance(server, ssl.SSLCertVerificationError), server
    server, _ = _handshake(secc_tls20(settings), evcc_tls20(settings, present_certificate=False))
    assert isinstance(server, ssl.SSLError) and "PEER_DID_NOT_RETURN_A_CERTIFICATE" in str(server)
    # a tester SECC observing an EVCC under test lets it through without one
    server, client = _handshake(
        secc_tls20(settings, require_vehicle_certificate=False),
        evcc_tls20(settings, present_certificate=False),
    )
    assert isinstance(server, ssl.SSLObject) and server.getpeercert() is None


def test_entries_of_the_wrong_side_are_refused(settings: DeviceSettings) -> None:
    with pytest.raises(ValueError, match="no SECC entry"):
        secc_tls20(settings, entry=VEHICLE)
    with pytest.raises(ValueError, match="no vehicle entry"):
        evcc_tls20(settings, entry=SECC_EXPIRED)
