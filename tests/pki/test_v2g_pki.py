"""The ISO 15118-2 test PKI (harness.pki.v2g): chain depth, curve, signature, key usage, basic constraints,
the SECC's name, the negatives' certificates, and `vgi pki init --v2g`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.pki.v2g import (
    MANIFEST_NAME,
    SECC,
    SECC_EXPIRED,
    SECC_UNTRUSTED,
    V2gPkiError,
    init_v2g_pki,
    load_v2g_credentials,
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("v2g")
    init_v2g_pki(directory, secc_common_name="DE*VGI*E0001")
    return directory


def _chain(pki: Path, entry: str = SECC) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(load_v2g_credentials(pki, entry).chain_path.read_bytes())


def _root(pki: Path, entry: str = SECC) -> x509.Certificate:
    return x509.load_pem_x509_certificate(load_v2g_credentials(pki, entry).trust_anchor_path.read_bytes())


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def test_chain_is_leaf_sub_ca_2_sub_ca_1_under_the_root(pki: Path) -> None:
    leaf, sub2, sub1 = _chain(pki)
    root = _root(pki)
    assert _issued_by(leaf, sub2) and _issued_by(sub2, sub1) and _issued_by(sub1, root)
    assert _issued_by(root, root)  # self-signed
    assert "Sub-CA 2" in sub2.subject.rfc4514_string() and "Sub-CA 1" in sub1.subject.rfc4514_string()


def test_every_certificate_is_p256_ecdsa_sha256(pki: Path) -> None:
    for certificate in [*_chain(pki), _root(pki)]:
        key = certificate.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
        assert isinstance(certificate.signature_hash_algorithm, hashes.SHA256)
        assert certificate.version == x509.Version.v3


def test_basic_constraints_and_key_usage(pki: Path) -> None:
    leaf, sub2, sub1 = _chain(pki)
    root = _root(pki)
    for certificate, path_length in ((root, None), (sub1, 1), (sub2, 0)):
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.critical and constraints.value.ca and constraints.value.path_length == path_length
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
        assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
        assert not usage.value.digital_signature
    constraints = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.key_agreement
    assert not usage.value.key_cert_sign


def test_secc_leaf_names_the_evse_and_is_valid_now(pki: Path) -> None:
    leaf = _chain(pki)[0]
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "DE*VGI*E0001"
    assert leaf.subject.get_attributes_for_oid(NameOID.DOMAIN_COMPONENT)[0].value == "CPO"
    now = datetime.now(UTC)
    assert leaf.not_valid_before_utc <= now < leaf.not_valid_after_utc
    assert load_v2g_credentials(pki).common_name == "DE*VGI*E0001"


def test_negative_certificates(pki: Path) -> None:
    expired = _chain(pki, SECC_EXPIRED)
    assert expired[0].not_valid_after_utc < datetime.now(UTC)
    assert _issued_by(expired[0], _chain(pki)[1])  # same Sub-CA 2: only the validity is wrong
    foreign = _chain(pki, SECC_UNTRUSTED)
    assert not _issued_by(foreign[2], _root(pki))  # its Sub-CA 1 is not under the lab's root
    # Its credentials still name the lab's root as what the EV trusts.
    assert (
        load_v2g_credentials(pki, SECC_UNTRUSTED).trust_anchor_path
        == load_v2g_credentials(pki).trust_anchor_path
    )


def test_private_keys_are_private(pki: Path) -> None:
    assert load_v2g_credentials(pki).key_path.stat().st_mode & 0o777 == 0o600


def test_existing_pki_is_kept_unless_forced(tmp_path: Path) -> None:
    init_v2g_pki(tmp_path)
    with pytest.raises(V2gPkiError, match="already holds"):
        init_v2g_pki(tmp_path)
    init_v2g_pki(tmp_path, force=True)
    with pytest.raises(V2gPkiError, match="vgi pki init --v2g"):
        load_v2g_credentials(tmp_path / "nothing")


def test_vgi_pki_init_v2g(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    assert main(["pki", "init", "--v2g", str(tmp_path / "lab"), "--evse-id", "ZZ00001"]) == 0
    assert (tmp_path / "lab" / MANIFEST_NAME).is_file()
    assert "secc/chain.pem" in capsys.readouterr().out
    assert load_v2g_credentials(tmp_path / "lab").common_name == "ZZ00001"
