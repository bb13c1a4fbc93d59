"""The ISO 15118-20 test PKI (harness.pki.v2g20): both chains (CPO for the SECC, OEM for the vehicle), curve
secp521r1 and ecdsa-with-SHA512, key usage, basic constraints, the leaves' names, which roots each side
trusts, the negatives' certificates, and `vgi pki init --v2g20`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448
from cryptography.x509.oid import NameOID

from harness.pki.v2g20 import (
    ENTRIES,
    MANIFEST_NAME,
    OEM_ROOT_NAME,
    SECC,
    SECC_ED448,
    SECC_EXPIRED,
    SECC_UNTRUSTED,
    V2G_ROOT_NAME,
    VEHICLE,
    VEHICLE_ED448,
    VEHICLE_UNTRUSTED,
    V2g20PkiError,
    init_v2g20_pki,
    load_v2g20_credentials,
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("v2g20")
    init_v2g20_pki(directory, secc_common_name="DE*VGI*E0020", vehicle_common_name="VGITEST0000000020")
    return directory


def _chain(pki: Path, entry: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(load_v2g20_credentials(pki, entry).chain_path.read_bytes())


def _certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@pytest.mark.parametrize(
    ("entry", "root_name", "sub_ca"), [(SECC, V2G_ROOT_NAME, "CPO"), (VEHICLE, OEM_ROOT_NAME, "OEM")]
)
def test_chains_are_leaf_sub_ca_2_sub_ca_1_under_their_root(
    pki: Path, entry: str, root_name: str, sub_ca: str
) -> None:
    leaf, sub2, sub1 = _chain(pki, entry)
    root = _certificate(pki / root_name)
    assert _issued_by(leaf, sub2) and _issued_by(sub2, sub1) and _issued_by(sub1, root)
    assert _issued_by(root, root)  # self-signed, and not sent in the chain ([V2G20-2399])
    assert f"{sub_ca} Sub-CA 2" in sub2.subject.rfc4514_string()
    assert f"{sub_ca} Sub-CA 1" in sub1.subject.rfc4514_string()


def test_every_certificate_is_p521_ecdsa_sha512(pki: Path) -> None:
    p521 = [entry for entry in ENTRIES if entry not in (SECC_ED448, VEHICLE_ED448)]
    certificates = [certificate for entry in p521 for certificate in _chain(pki, entry)]
    certificates += [_certificate(pki / V2G_ROOT_NAME), _certificate(pki / OEM_ROOT_NAME)]
    for certificate in certificates:
        key = certificate.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp521r1"
        assert isinstance(certificate.signature_hash_algorithm, hashes.SHA512)
        assert certificate.version == x509.Version.v3


def test_the_ed448_twin_signs_with_ed448_under_its_own_roots(pki: Path) -> None:
    """[V2G20-2319] / Table 8 ed448: the alternative hierarchy, its leaves signature-only keys."""
    for entry, root_name in ((SECC_ED448, V2G_ROOT_NAME), (VEHICLE_ED448, OEM_ROOT_NAME)):
        leaf, sub2, sub1 = _chain(pki, entry)
        root = _certificate(pki / "ed448" / root_name)
        assert _issued_by(leaf, sub2) and _issued_by(sub2, sub1) and _issued_by(sub1, root)
        for certificate in (leaf, sub2, sub1, root):
            assert isinstance(certificate.public_key(), ed448.Ed448PublicKey)
            assert certificate.signature_hash_algorithm is None  # EdDSA: no separate hash
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature and not usage.key_agreement
    assert load_v2g20_credentials(pki, VEHICLE_ED448).trust_anchor_path == pki / "ed448" / V2G_ROOT_NAME


def test_basic_constraints_and_key_usage(pki: Path) -> None:
    for entry in (SECC, VEHICLE):
        leaf, sub2, sub1 = _chain(pki, entry)
        for certificate, path_length in ((sub1, 1), (sub2, 0)):
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
            assert constraints.critical and constraints.value.ca
            assert constraints.value.path_length == path_length
            usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
            assert usage.critical and usage.value.key_cert_sign and not usage.value.digital_signature
        constraints = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
        assert constraints.critical and not constraints.value.ca
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
        assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign


def test_leaves_name_the_evse_and_the_vehicle_and_are_valid_now(pki: Path) -> None:
    now = datetime.now(UTC)
    for entry, common_name, domain in ((SECC, "DE*VGI*E0020", "CPO"), (VEHICLE, "VGITEST0000000020", "OEM")):
        leaf = _chain(pki, entry)[0]
        assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == common_name
        assert leaf.subject.get_attributes_for_oid(NameOID.DOMAIN_COMPONENT)[0].value == domain
        assert leaf.not_valid_before_utc <= now < leaf.not_valid_after_utc
        assert load_v2g20_credentials(pki, entry).common_name == common_name


def test_each_side_trusts_the_roots_it_verifies_the_peer_with(pki: Path) -> None:
    # The SECC verifies vehicle certificates: OEM root (and a V2G root, [V2G20-2331]); the EVCC the V2G root.
    secc_anchors = x509.load_pem_x509_certificates(
        load_v2g20_credentials(pki, SECC).trust_anchor_path.read_bytes()
    )
    assert secc_anchors == [_certificate(pki / OEM_ROOT_NAME), _certificate(pki / V2G_ROOT_NAME)]
    assert load_v2g20_credentials(pki, VEHICLE).trust_anchor_path == pki / V2G_ROOT_NAME


def test_negative_certificates(pki: Path) -> None:
    expired = _chain(pki, SECC_EXPIRED)
    assert expired[0].not_valid_after_utc < datetime.now(UTC)
    assert _issued_by(expired[0], _chain(pki, SECC)[1])  # same CPO Sub-CA 2: only the validity is wrong
    assert not _issued_by(_chain(pki, SECC_UNTRUSTED)[2], _certificate(pki / V2G_ROOT_NAME))
    assert not _issued_by(_chain(pki, VEHICLE_UNTRUSTED)[2], _certificate(pki / OEM_ROOT_NAME))


def test_private_keys_are_private(pki: Path) -> None:
    for entry in ENTRIES:
        assert load_v2g20_credentials(pki, entry).key_path.stat().st_mode & 0o777 == 0o600


def test_existing_pki_is_kept_unless_forced(tmp_path: Path) -> None:
    init_v2g20_pki(tmp_path)
    with pytest.raises(V2g20PkiError, match="already holds"):
        init_v2g20_pki(tmp_path)
    init_v2g20_pki(tmp_path, force=True)
    with pytest.raises(V2g20PkiError, match="vgi pki init --v2g20"):
        load_v2g20_credentials(tmp_path / "nothing")
    with pytest.raises(V2g20PkiError, match="no usable entry 'nope'"):
        load_v2g20_credentials(tmp_path, "nope")


def test_vgi_pki_init_v2g20(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    assert main(["pki", "init", "--v2g20", str(tmp_path / "lab"), "--evse-id", "ZZ00020"]) == 0
    assert (tmp_path / "lab" / MANIFEST_NAME).is_file()
    out = capsys.readouterr().out
    assert "secc/chain.pem" in out and "vehicle/chain.pem" in out
    assert load_v2g20_credentials(tmp_path / "lab").common_name == "ZZ00020"
