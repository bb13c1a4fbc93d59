"""The ISO 15118-20 TLS checks (harness.verdict.checks.iso15118_20_tls) over hand-made timelines, each
rule passing a conforming session and failing one that breaks it, and over the shared josev -20 captures
decrypted with their key logs: TLS 1.3 with TLS_AES_256_GCM_SHA384 and a Table 8 signature there, but the
key share on secp256r1 (outside Table 7) in both, and no CertificateRequest in the one without mutual TLS."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from capture.keylog import keylog_for
from capture.reader import read_timeline
from capture.timeline import TimelineEvent
from harness.verdict.catalogue import load_catalogue
from harness.verdict.checks.common import DUT, TESTER
from harness.verdict.checks.iso15118_20_tls import (
    ISO20_TLS_01,
    ISO20_TLS_02,
    ISO20_TLS_03,
    ISO20_TLS_04,
    ISO20_TLS_05,
    ISO20_TLS_06,
    iso20_tls_checks,
)
from harness.verdict.expectations import Parties, evaluate
from harness.verdict.verdicts import Verdict

EV, SECC = "fe80::1", "fe80::2"
TLS_PORT, EV_PORT = 55119, 50000
# What each check of a mutual session judges, in the builder's order.
ORDER = ("version", "suite", "group", "request", "ev certificate", "ev verify", "secc table 8", "ev table 8")
REQUIREMENTS = (ISO20_TLS_01, ISO20_TLS_02, ISO20_TLS_03, ISO20_TLS_04, ISO20_TLS_05, ISO20_TLS_05) + (
    ISO20_TLS_06,
    ISO20_TLS_06,
)


def _tls(frame: int, from_secc: bool, message: str, **fields: object) -> TimelineEvent:
    src, dst, sport, dport = (SECC, EV, TLS_PORT, EV_PORT) if from_secc else (EV, SECC, EV_PORT, TLS_PORT)
    return TimelineEvent(0.01 * frame, frame, src, dst, "TLS", message, dict(fields), None, sport, dport)


def _session(**changes: dict[str, object] | None) -> list[TimelineEvent]:
    """A compliant mutual -20 handshake; ``changes`` replaces a message's fields (None: leaves it out)."""
    messages = {
        "ServerHello": (True, {"version": "0x0304", "cipher": 0x1302, "group": 0x0019}),
        "CertificateRequest": (True, {"signature_algorithms": [0x0603, 0x0808]}),
        "Certificate": (True, {"length": 1800, "certificates": 2}),
        "CertificateVerify": (True, {"signature_algorithm": 0x0603}),
        "EvCertificate": (False, {"length": 1900, "certificates": 3}),
        "EvCertificateVerify": (False, {"signature_algorithm": 0x0808}),
    }
    out = [_tls(1, False, "ClientHello", offers_tls13=True)]
    for frame, (name, (from_secc, fields)) in enumerate(messages.items(), start=2):
        fields = changes.get(name, fields)
        if fields is not None:
            out.append(_tls(frame, from_secc, name.removeprefix("Ev"), **fields))
    return out


def _verdicts(timeline: list[TimelineEvent], secc: str = DUT, evcc: str = TESTER, **kwargs: bool) -> dict:
    parties = Parties(frozenset({EV if secc == DUT else SECC}))
    checks = iso20_tls_checks(secc, evcc, TLS_PORT, **kwargs)
    return {
        name: evaluate(c.check.spec(), timeline, parties).verdict
        for name, c in zip(ORDER, checks, strict=False)
    }


def test_every_check_cites_a_catalogued_requirement_in_order() -> None:
    checks = iso20_tls_checks(DUT, TESTER, TLS_PORT)
    assert tuple(c.requirement for c in checks) == REQUIREMENTS
    catalogue = load_catalogue()
    assert all(c.requirement in catalogue for c in checks)
    assert all("[V2G20-" in c.description for c in checks)
    # without mutual authentication: no CertificateRequest or EVCC checks
    assert [c.requirement for c in iso20_tls_checks(DUT, TESTER, TLS_PORT, mutual=False)] == [
        ISO20_TLS_01,
        ISO20_TLS_02,
        ISO20_TLS_03,
        ISO20_TLS_06,
    ]


@pytest.mark.parametrize(("secc", "evcc"), [(DUT, TESTER), (TESTER, DUT)])
def test_a_compliant_mutual_session_passes_every_check(secc: str, evcc: str) -> None:
    assert set(_verdicts(_session(), secc, evcc).values()) == {Verdict.PASS}


def _hello(version: str = "0x0304", cipher: int = 0x1302, group: int | None = 0x0019) -> dict:
    return {"ServerHello": {"version": version, "cipher": cipher, "group": group}}


NO_EV_CERTIFICATE = {"EvCertificate": None, "EvCertificateVerify": None}
EV_FAILS = {"ev certificate", "ev verify"}


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        (_hello("0x0303", 0xC023, None), {"version", "suite", "group"}),  # TLS 1.2
        (_hello(cipher=0x1301), {"suite"}),  # TLS_AES_128_GCM_SHA256
        (_hello(cipher=0x1303, group=0x0017), {"group"}),  # secp256r1
        (_hello(group=0x001D), {"group"}),  # x25519
        ({"ServerHello": None}, {"version", "suite", "group"}),
        ({"CertificateRequest": None, **NO_EV_CERTIFICATE}, {"request", *EV_FAILS}),
        ({"EvCertificate": {"length": 0, "certificates": 0}, "EvCertificateVerify": None}, EV_FAILS),
        ({"CertificateVerify": {"signature_algorithm": 0x0403}}, {"secc table 8"}),  # ecdsa_secp256r1_sha256
        ({"EvCertificateVerify": {"signature_algorithm": 0x0804}}, {"ev table 8"}),  # rsa_pss_rsae_sha256
        ({"CertificateVerify": None}, {"secc table 8"}),
    ],
)
def test_each_rule_fails_the_session_that_breaks_it(changes: dict, failing: set[str]) -> None:
    verdicts = _verdicts(_session(**changes))
    assert {name for name, v in verdicts.items() if v is Verdict.FAIL} == failing
    # the EVCC's signature is not judged when it sent none (ISO20-TLS-05 fails instead)
    expected_inconclusive = {"ev table 8"} if "ev verify" in failing else set()
    assert {name for name, v in verdicts.items() if v is Verdict.INCONCLUSIVE} == expected_inconclusive


def test_the_sides_are_told_apart_by_the_secc_port() -> None:
    # the EVCC's Certificate is no CertificateRequest from the SECC, nor is the SECC's own chain the EVCC's
    timeline = _session(CertificateRequest=None, EvCertificate=None, EvCertificateVerify=None)
    assert _verdicts(timeline)["ev certificate"] is Verdict.FAIL
    other_port = [e for e in _session() if e.message != "ServerHello"] + [
        TimelineEvent(0.5, 50, SECC, EV, "TLS", "ServerHello", {"version": "0x0304"}, None, 443, EV_PORT)
    ]
    assert _verdicts(other_port)["version"] is Verdict.FAIL  # no ServerHello from the V2G TLS port


# --- the shared josev captures ---------------------------------------------------------------------------

CAPTURES = {
    "ISO-20_TLS13_DC_DS5366_Josev.pcapng": False,  # TLS 1.3, the SECC authenticated only
    "ISO-20_mTLS_DC_DS5366_Josev.pcapng": True,  # mutual TLS
}


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark decrypts the capture")
@pytest.mark.parametrize("name", CAPTURES)
def test_josev_captures_fail_table_7_and_without_mtls_the_certificate_request(
    captures_dir: Path, tmp_path: Path, name: str
) -> None:
    capture, keys = captures_dir / name, captures_dir / "keys" / f"{name}.keys"
    if not capture.is_file() or not keys.is_file():
        pytest.skip(f"{capture} or its key log is not in the shared test data")
    local = tmp_path / name
    local.symlink_to(capture)
    keylog_for(local).symlink_to(keys)
    timeline = read_timeline(local)
    (hello,) = [e for e in timeline if e.message == "ServerHello"]
    assert hello.sport == TLS_PORT
    # no tester in these captures: the sides by their addresses (the DS5366 EV, josev's SECC)
    parties = Parties(frozenset())
    checks = iso20_tls_checks(hello.src, hello.dst, TLS_PORT)
    verdicts = {
        n: evaluate(c.check.spec(), timeline, parties).verdict for n, c in zip(ORDER, checks, strict=True)
    }
    mutual = CAPTURES[name]
    passed = Verdict.PASS if mutual else Verdict.FAIL
    assert verdicts == {
        "version": Verdict.PASS,
        "suite": Verdict.PASS,
        "group": Verdict.FAIL,  # secp256r1 (0x0017)
        "request": passed,
        "ev certificate": passed,
        "ev verify": passed,
        "secc table 8": Verdict.PASS,  # ecdsa_secp521r1_sha512
        "ev table 8": Verdict.PASS if mutual else Verdict.INCONCLUSIVE,
    }
    reason = evaluate(checks[2].check.spec(), timeline, parties).reason
    assert "group is 23" in reason
