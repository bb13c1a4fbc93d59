"""ISO 15118-20 inside TLS 1.3 in real captures (shared/captures: a DS5366 tester against josev, TLS and
mutual TLS): with the key log beside the capture, the run-time reader (capture.reader -> capture.tls_v2g and
capture.tls_http) shows the TLS 1.3 ServerHello with TLS_AES_256_GCM_SHA384 and decodes the whole -20 DC
session inside it (common and DC messages each by its payload type's schema), labelled as plain V2G is;
and the handshake facts ISO 15118-20 7.7.3.4 is judged on (key-share group, CertificateRequest, each side's
Certificate and CertificateVerify scheme)."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest

from capture.keylog import keylog_for
from capture.reader import read_timeline
from capture.tls_v2g import v2g_tls_ports
from harness.protocol.iso15118_20.messages import TYPICAL_DC_SESSION_REQUESTS
from harness.transport.v2g20_tls import (
    ISO20_CIPHER_IDS,
    ISO20_GROUP_IDS,
    ISO20_SIGNATURE_ALGORITHM_IDS,
    ISO20_TLS_VERSION_WIRE,
)

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark decrypts the capture")

CAPTURES = ("ISO-20_TLS13_DC_DS5366_Josev.pcapng", "ISO-20_mTLS_DC_DS5366_Josev.pcapng")
MUTUAL = CAPTURES[1]
# RFC 8446 code points: the secp256r1 group, the ecdsa_secp521r1_sha512 signature scheme.
SECP256R1 = 0x0017
ECDSA_SECP521R1_SHA512 = ISO20_SIGNATURE_ALGORITHM_IDS[0]
# josev's SECC port for TLS in both captures, as their SECCDiscoveryRes announced it.
TLS_PORT = 55119
# The requests of the -20 DC session in both captures, consecutive repeats (the CableCheck, PreCharge,
# ChargeLoop and WeldingDetection loops, the mTLS one's PowerDelivery Standby before Start) collapsed.
REQUESTS = TYPICAL_DC_SESSION_REQUESTS


def _with_keylog(captures_dir: Path, name: str, tmp_path: Path) -> Path:
    """The capture and its key log (shared/captures/keys/NAME.keys) side by side, as a run writes them."""
    capture = captures_dir / name
    keys = captures_dir / "keys" / f"{name}.keys"
    if not capture.is_file() or not keys.is_file():
        pytest.skip(f"{capture} or its key log {keys} is not in the shared test data")
    local = tmp_path / name
    local.symlink_to(capture)
    keylog_for(local).symlink_to(keys)
    return local


def _collapsed(names: list[str]) -> list[str]:
    return [name for name, _ in itertools.groupby(names)]


@pytest.mark.parametrize("name", CAPTURES)
def test_iso20_dc_session_inside_tls13_decodes_with_the_key_log(
    captures_dir: Path, tmp_path: Path, name: str
):
    capture = _with_keylog(captures_dir, name, tmp_path)
    assert v2g_tls_ports(capture) == [TLS_PORT]
    timeline = read_timeline(capture)
    # the negotiated version and suite, from the ServerHello of the V2G TLS session
    hellos = [e for e in timeline if e.protocol == "TLS" and e.message == "ServerHello"]
    assert len(hellos) == 1 and hellos[0].sport == TLS_PORT
    assert hellos[0].fields["version"] == f"0x{ISO20_TLS_VERSION_WIRE:04x}"
    assert hellos[0].fields["cipher"] == ISO20_CIPHER_IDS[0]  # TLS_AES_256_GCM_SHA384
    client_hello = next(e for e in timeline if e.protocol == "TLS" and e.message == "ClientHello")
    assert client_hello.fields["offers_tls13"]
    # josev's key share is secp256r1 (23), outside Table 7 (secp521r1, x448)
    assert hellos[0].fields["group"] == SECP256R1 and SECP256R1 not in ISO20_GROUP_IDS
    # the encrypted handshake, decrypted: the SECC's chain (leaf and two sub-CAs) signed with a Table 8
    # scheme; a CertificateRequest and the EVCC's chain only in the mutual TLS capture
    handshake = [(e.message, e.sport == TLS_PORT, e.fields) for e in timeline if e.protocol == "TLS"]
    secc_certificate = [f for m, server, f in handshake if m == "Certificate" and server]
    assert [f["certificates"] for f in secc_certificate] == [3] and secc_certificate[0]["length"] > 0
    assert [f for m, server, f in handshake if m == "CertificateVerify" and server] == [
        {"signature_algorithm": ECDSA_SECP521R1_SHA512}
    ]
    requests = [f for m, server, f in handshake if m == "CertificateRequest"]
    ev_certificate = [f for m, server, f in handshake if m == "Certificate" and not server]
    ev_verify = [f for m, server, f in handshake if m == "CertificateVerify" and not server]
    if name == MUTUAL:
        assert requests == [{"signature_algorithms": [0x0808, 0x0403, 0x0603]}]  # ed448, P-256, P-521
        assert [f["certificates"] for f in ev_certificate] == [3] and ev_certificate[0]["length"] > 0
        assert ev_verify == [{"signature_algorithm": ECDSA_SECP521R1_SHA512}]
    else:
        assert requests == [] and ev_certificate == [] and ev_verify == []
    # the decrypted V2G messages: the whole -20 DC session, nothing that failed to decode
    session = [e for e in timeline if TLS_PORT in (e.sport, e.dport)]
    assert not [e.error for e in session if e.error]
    v2g = [e for e in session if e.protocol not in ("TLS", "TCP")]
    assert {e.protocol for e in v2g} == {"AppProtocol", "ISO-20"}
    names = [e.message for e in v2g]
    assert tuple(_collapsed([n for n in names if n.endswith("Req")])) == REQUESTS
    # every request answered before the next one: Req, Res, Req, Res ...
    assert names[0::2] == [n for n in names if n.endswith("Req")]
    assert names[1::2] == [n.removesuffix("Req") + "Res" for n in names[0::2]]
    assert names.count("DC_ChargeLoopReq") >= 10


def test_without_the_key_log_the_tls_session_stays_opaque(captures_dir: Path, tmp_path: Path):
    capture = captures_dir / CAPTURES[0]
    if not capture.is_file():
        pytest.skip(f"{capture} is not in the shared test data")
    local = tmp_path / CAPTURES[0]
    local.symlink_to(capture)
    timeline = read_timeline(local)
    assert not [e for e in timeline if e.message == "SessionSetupReq"]
    assert [e for e in timeline if e.message == "SECCDiscoveryRes"]  # SDP is in the clear
