"""PIXIT certificates of a DUT that brings its own PKI: validation and identities built from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.pki.hierarchy import init_pki
from harness.pki.identity import lfdi_from_pem, sfdi_from_lfdi
from harness.pki.store import PkiError, check_lab_certificates, external_identity, trust_anchor


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki") / "lab"
    init_pki(directory, ("evse", "bms"))
    return directory


def test_good_certificates_pass(pki: Path) -> None:
    check_lab_certificates(
        {
            "dut_cert": pki / "evse" / "chain.pem",
            "dut_key": pki / "evse" / "key.pem",
            "trust_anchor": trust_anchor(pki),
            "tester_cert": pki / "bms" / "chain.pem",
            "tester_key": pki / "bms" / "key.pem",
        }
    )


def test_missing_file_is_named(pki: Path, tmp_path: Path) -> None:
    with pytest.raises(PkiError, match=r"PIXIT dut_cert file .*nope.pem does not exist"):
        check_lab_certificates({"dut_cert": tmp_path / "nope.pem"})


def test_garbage_certificate_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(PkiError, match="PIXIT trust_anchor file .* holds no PEM certificate"):
        check_lab_certificates({"trust_anchor": bad})


def test_key_of_another_certificate_is_refused(pki: Path) -> None:
    with pytest.raises(PkiError, match="does not belong to the certificate"):
        check_lab_certificates({"dut_cert": pki / "evse" / "cert.pem", "dut_key": pki / "bms" / "key.pem"})


def test_tester_cert_needs_its_key(pki: Path) -> None:
    with pytest.raises(PkiError, match="tester_cert and tester_key together"):
        check_lab_certificates({"tester_cert": pki / "bms" / "cert.pem"})


def test_external_identity_computes_lfdi_from_the_first_certificate(pki: Path) -> None:
    chain = pki / "evse" / "chain.pem"
    found = external_identity("dut", chain, pki / "evse" / "key.pem", trust_anchor(pki))
    expected = lfdi_from_pem((pki / "evse" / "cert.pem").read_bytes())
    assert found.lfdi == expected and found.sfdi == sfdi_from_lfdi(expected)
    assert found.chain_path == chain and found.trust_anchor_path == trust_anchor(pki)


def test_the_bench_refuses_a_lab_whose_dut_certificate_is_missing(tmp_path: Path) -> None:
    from harness.bench import BenchError, _check_certificates
    from harness.lab.loader import load_lab

    repo = Path(__file__).resolve().parents[2]
    text = (repo / "lab_configs" / "sim.yaml").read_text()
    assert "\npixit:\n" in text
    text = text.replace("\npixit:\n", "\npixit:\n  certificates:\n    dut_cert: certs/evse.pem\n", 1)
    lab_file = tmp_path / "lab.yaml"
    lab_file.write_text(text)
    with pytest.raises(BenchError, match=r"lab.yaml: PIXIT dut_cert file .*certs/evse.pem does not exist"):
        _check_certificates(load_lab(lab_file))
