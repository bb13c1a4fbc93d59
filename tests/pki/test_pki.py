"""The test PKI: hierarchy, 2030.5 device profile, LFDI/SFDI, loading, and the `vgi pki` command."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from harness.commands import pki as pki_command
from harness.pki.hierarchy import PkiExists, check_roles, init_pki
from harness.pki.identity import (
    is_valid_sfdi,
    lfdi_from_der,
    lfdi_from_pem,
    normalise_lfdi,
    sfdi_check_digit,
    sfdi_from_lfdi,
)
from harness.pki.profile import (
    INDEFINITE_NOT_AFTER,
    OID_HARDWARE_MODULE_NAME,
    POLICY_DEVICE_GENERIC,
    POLICY_DEVICE_MOBILE,
    POLICY_TEST_CERTIFICATE,
    ROLES,
)
from harness.pki.store import DeviceIdentity, PkiError, list_roles, load_identity, trust_anchor

# --- LFDI / SFDI worked examples, computed by hand ---------------------------------------------


def test_sfdi_of_the_ieee_example_lfdi() -> None:
    # First 9 hex digits 3E4F45AB3 = 3*16^8 + 14*16^7 + 4*16^6 + 15*16^5 + 4*16^4 + 5*16^3
    #   + 10*16^2 + 11*16 + 3 = 12884901888 + 3758096384 + 67108864 + 15728640 + 262144 + 20480
    #   + 2560 + 176 + 3 = 16726121139; digit sum 1+6+7+2+6+1+2+1+1+3+9 = 39, check (10-9)%10 = 1.
    assert sfdi_from_lfdi("3E4F45AB31EDFE5B67E343E5E4562E31984E23E5") == 167261211391
    assert sfdi_from_lfdi("3e4f45ab31edfe5b67e343e5e4562e31984e23e5") == 167261211391


def test_sfdi_edge_examples() -> None:
    # 00000000A = 10: digit sum 1, check 9.
    assert sfdi_from_lfdi("00000000A" + "0" * 31) == 109
    # FFFFFFFFF = 2^36 - 1 = 68719476735: digit sum 63, check 7.
    assert sfdi_from_lfdi("F" * 40) == 687194767357
    # 000000000 = 0: digit sum 0, check 0.
    assert sfdi_from_lfdi("0" * 40) == 0
    assert sfdi_check_digit(16726121139) == 1
    assert is_valid_sfdi(167261211391)
    assert not is_valid_sfdi(167261211392)
    assert not is_valid_sfdi(-1)
    with pytest.raises(ValueError):
        sfdi_from_lfdi("XYZ")


def test_lfdi_is_the_truncated_sha256_of_the_der_certificate(identities: dict[str, DeviceIdentity]) -> None:
    ev = identities["ev"]
    pem = ev.cert_path.read_bytes()
    # Independent of the code under test: strip the PEM armour by hand and hash with hashlib.
    body = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
    expected = hashlib.sha256(base64.b64decode(body)).hexdigest()[:40].upper()
    assert lfdi_from_pem(pem) == expected == ev.lfdi
    assert lfdi_from_der(ev.certificate_der()) == expected
    assert ev.sfdi == int(expected[:9], 16) * 10 + sfdi_check_digit(int(expected[:9], 16))
    assert normalise_lfdi(bytes.fromhex(expected)) == expected
    assert normalise_lfdi(expected.lower()) == expected
    with pytest.raises(ValueError):
        normalise_lfdi("ABC")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_lfdi_matches_openssl_fingerprint(identities: dict[str, DeviceIdentity]) -> None:
    for identity in identities.values():
        out = subprocess.run(
            ["openssl", "x509", "-in", str(identity.cert_path), "-noout", "-fingerprint", "-sha256"],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        fingerprint = out.strip().split("=", 1)[1].replace(":", "")
        assert fingerprint[:40] == identity.lfdi


# --- hierarchy and profile -----------------------------------------------------------------------


def _load(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def test_every_role_has_a_device_certificate(pki_dir: Path, identities: dict[str, DeviceIdentity]) -> None:
    assert set(ROLES) | {"untrusted"} == set(identities) == set(list_roles(pki_dir))
    lfdis = {identity.lfdi for identity in identities.values()}
    assert len(lfdis) == len(identities)
    manifest = json.loads((pki_dir / "pki.json").read_text())
    for role, identity in identities.items():
        assert manifest["roles"][role]["lfdi"] == identity.lfdi
        assert manifest["roles"][role]["sfdi"] == identity.sfdi
        assert identity.key_path.stat().st_mode & 0o077 == 0, f"{role} key is readable by others"


def test_chain_is_device_mica_mca_under_the_serca(identities: dict[str, DeviceIdentity]) -> None:
    for role, identity in identities.items():
        device, mica, mca = _load(identity.chain_path)
        (serca,) = _load(identity.trust_anchor_path)
        assert device == _load(identity.cert_path)[0]
        assert device.issuer == mica.subject and mica.issuer == mca.subject and mca.issuer == serca.subject
        assert serca.issuer == serca.subject
        # Each signature verifies under the issuer's key (raises otherwise).
        device.verify_directly_issued_by(mica)
        mica.verify_directly_issued_by(mca)
        mca.verify_directly_issued_by(serca)
        serca.verify_directly_issued_by(serca)
        assert mca.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 1, role
        assert mica.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0, role
        for ca in (serca, mca, mica):
            constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
            assert constraints.critical and constraints.value.ca
            usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
            assert usage.key_cert_sign and usage.crl_sign


def test_untrusted_chain_has_a_different_root(identities: dict[str, DeviceIdentity]) -> None:
    lab = identities["ev"].trust_anchor_path
    foreign = identities["untrusted"].trust_anchor_path
    assert lab != foreign
    assert _load(lab)[0] != _load(foreign)[0]
    assert _load(lab)[0].public_key() != _load(foreign)[0].public_key()


def test_device_certificates_follow_the_2030_5_profile(identities: dict[str, DeviceIdentity]) -> None:
    for role, identity in identities.items():
        (cert,) = _load(identity.cert_path)
        key = cert.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1", role
        assert cert.signature_hash_algorithm is not None and cert.signature_hash_algorithm.name == "sha256"
        assert cert.version == x509.Version.v3
        assert len(cert.subject) == 0, f"{role}: device subject must be empty"
        assert cert.not_valid_after_utc == INDEFINITE_NOT_AFTER
        assert cert.not_valid_before_utc <= datetime.now(UTC)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        assert san.critical
        assert san.value.get_values_for_type(x509.DNSName) == []
        assert san.value.get_values_for_type(x509.IPAddress) == []
        (other,) = san.value.get_values_for_type(x509.OtherName)
        assert other.type_id == OID_HARDWARE_MODULE_NAME
        assert other.value[0] == 0x30 and f"VGI-{role}-".encode() in other.value
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert usage.critical and usage.value.digital_signature and usage.value.key_agreement
        assert not usage.value.key_cert_sign
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        assert not constraints.value.ca
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies)
        assert policies.critical
        oids = {policy.policy_identifier for policy in policies.value}
        device_type = POLICY_DEVICE_MOBILE if role == "ev" else POLICY_DEVICE_GENERIC
        assert oids == {device_type, POLICY_TEST_CERTIFICATE}, role


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_openssl_verifies_the_lab_chain_and_refuses_the_untrusted(
    pki_dir: Path, identities: dict[str, DeviceIdentity]
) -> None:
    def verify(identity: DeviceIdentity, purpose: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["openssl", "verify", "-purpose", purpose, "-CAfile", str(pki_dir / "serca.pem"),
             "-untrusted", str(identity.chain_path), str(identity.cert_path)],
            capture_output=True,
            text=True,
            timeout=30,
        )  # fmt: skip

    for role in ROLES:
        assert verify(identities[role], "sslclient").returncode == 0, role
        assert verify(identities[role], "sslserver").returncode == 0, role
    refused = verify(identities["untrusted"], "sslclient")
    assert refused.returncode != 0
    assert "unable to get local issuer certificate" in refused.stdout + refused.stderr


def test_existing_pki_needs_force(tmp_path: Path) -> None:
    first = init_pki(tmp_path, ["ev"])
    with pytest.raises(PkiExists):
        init_pki(tmp_path, ["ev"])
    second = init_pki(tmp_path, ["ev", "evse"], force=True)
    assert first["roles"]["ev"]["lfdi"] != second["roles"]["ev"]["lfdi"]
    assert set(list_roles(tmp_path)) == {"ev", "evse", "untrusted"}
    assert load_identity(tmp_path, "ev").lfdi == second["roles"]["ev"]["lfdi"]


def test_role_names_are_checked() -> None:
    assert check_roles(["ev", "ev", "evse"]) == ("ev", "evse")
    for bad in ("EV", "", "../x", "ca", "untrusted-ca", "a b"):
        with pytest.raises(ValueError):
            check_roles([bad])


def test_loading_detects_problems(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="vgi pki init"):
        load_identity(tmp_path, "ev")
    init_pki(tmp_path, ["ev"])
    with pytest.raises(PkiError, match="no role 'bms'"):
        load_identity(tmp_path, "bms")
    assert trust_anchor(tmp_path) == tmp_path / "serca.pem"
    # A certificate swapped behind the manifest's back is caught by its LFDI.
    (tmp_path / "ev" / "cert.pem").write_bytes((tmp_path / "untrusted" / "cert.pem").read_bytes())
    with pytest.raises(PkiError, match="does not match"):
        load_identity(tmp_path, "ev")
    (tmp_path / "ev" / "key.pem").unlink()
    with pytest.raises(PkiError, match="missing"):
        load_identity(tmp_path, "ev")


# --- the `vgi pki init` command ------------------------------------------------------------------


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="vgi")
    pki_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_command_creates_the_pki(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "lab-pki"
    assert _run(["pki", "init", str(target), "--roles", "ev", "pfe-server"]) == 0
    out = capsys.readouterr().out
    identity = load_identity(target, "ev")
    assert identity.lfdi in out and str(identity.sfdi) in out
    # the negative-test identities come with every PKI the command makes
    assert set(list_roles(target)) == {"ev", "pfe-server", "unregistered", "untrusted"}


def test_command_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    from harness.cli import UsageError

    assert _run(["pki", "init", str(tmp_path)]) == 0
    assert set(list_roles(tmp_path)) == set(ROLES) | {"unregistered", "untrusted"}
    before = load_identity(tmp_path, "ev").lfdi
    with pytest.raises(UsageError, match="--force"):
        _run(["pki", "init", str(tmp_path)])
    assert _run(["pki", "init", str(tmp_path), "--force"]) == 0
    assert load_identity(tmp_path, "ev").lfdi != before
    with pytest.raises(UsageError, match="invalid role"):
        _run(["pki", "init", str(tmp_path / "x"), "--roles", "Bad_Role"])
