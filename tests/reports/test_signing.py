"""Signed runs: our CMS signature verifies with stock openssl, openssl's with ours, and any change to an
artifact, the manifest or the signer fails both."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from reports.cms import CmsError, parse_signed_data, sign_detached, verify_detached
from reports.manifest import MANIFEST_FILE, OPENSSL_VERIFY, SIGNATURE_FILE, write_manifest
from reports.signing import (
    EncryptedKeyError,
    Signer,
    SigningError,
    load_signer,
    sign_manifest,
    sign_run,
    verify_run,
)

NOW = dt.datetime.now(dt.UTC)
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject_key, cn: str, issuer_key=None, issuer_cn: str | None = None, *, ca: bool = False, days=(-1, 30)
):
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(issuer_cn or cn))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + dt.timedelta(days=days[0]))
        .not_valid_after(NOW + dt.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer_key or subject_key, hashes.SHA256())


def _write_key(path: Path, key, password: bytes | None = None) -> Path:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    return path


def _write_cert(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return path


@pytest.fixture
def pki(tmp_path: Path):
    """A lab CA, a signing certificate it issued, and an unrelated self-signed one, in files."""
    d = tmp_path / "pki"
    d.mkdir()
    ca_key, lab_key, other_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _cert(ca_key, "Lab CA", ca=True)
    lab = _cert(lab_key, "Lab signer", ca_key, "Lab CA")
    other = _cert(other_key, "Someone else")
    return type(
        "Pki",
        (),
        {
            "ca": _write_cert(d / "ca.pem", ca),
            "key": _write_key(d / "lab.key", lab_key),
            "cert": _write_cert(d / "lab.pem", lab),
            "other_key": _write_key(d / "other.key", other_key),
            "other_cert": _write_cert(d / "other.pem", other),
            "lab_key": lab_key,
            "lab": lab,
            "ca_key": ca_key,
        },
    )


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    (run / "captures").mkdir(parents=True)
    (run / "results.json").write_text('{"scenarios": []}\n', encoding="utf-8")
    (run / "captures" / "s1.pcapng").write_bytes(bytes(range(256)))
    write_manifest(run)
    return run


def _openssl_verify(run: Path, ca: Path) -> subprocess.CompletedProcess:
    command = OPENSSL_VERIFY.replace("RUN_DIR", str(run)).replace("CA.pem", str(ca))
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60)


def test_sign_and_verify(run_dir: Path, pki) -> None:
    # The signing time is whole seconds (CMS signingTime), taken while sign_run runs.
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    signature = sign_run(run_dir, pki.key, pki.cert)
    after = dt.datetime.now(dt.UTC)
    assert signature == run_dir / SIGNATURE_FILE
    for kwargs in ({}, {"cert_path": pki.cert}, {"ca_path": pki.ca}, {"ca_path": pki.cert}):
        result = verify_run(run_dir, **kwargs)
        assert result.ok, (kwargs, result.problems)
        assert result.signer == "CN=Lab signer"
        assert result.signed_at is not None and before <= result.signed_at <= after
    assert "not checked" in verify_run(run_dir).trust


@needs_openssl
def test_stock_openssl_verifies_our_signature(run_dir: Path, pki) -> None:
    sign_run(run_dir, pki.key, pki.cert)
    done = _openssl_verify(run_dir, pki.ca)
    assert done.returncode == 0, done.stderr
    assert "Verification successful" in done.stderr


@needs_openssl
def test_a_changed_byte_fails_both(run_dir: Path, pki) -> None:
    sign_run(run_dir, pki.key, pki.cert)
    capture = run_dir / "captures" / "s1.pcapng"
    data = bytearray(capture.read_bytes())
    data[100] ^= 0x01
    capture.write_bytes(bytes(data))
    result = verify_run(run_dir, ca_path=pki.ca)
    assert result.problems == ["captures/s1.pcapng: content changed (sha256 differs from the manifest)"]
    assert _openssl_verify(run_dir, pki.ca).returncode != 0


@needs_openssl
def test_a_changed_manifest_fails_both(run_dir: Path, pki) -> None:
    sign_run(run_dir, pki.key, pki.cert)
    # Someone changes an artifact and updates its manifest line to match: only the signature notices.
    capture = run_dir / "captures" / "s1.pcapng"
    capture.write_bytes(b"forged")
    manifest = run_dir / MANIFEST_FILE
    manifest.write_bytes(manifest.read_bytes())  # unchanged bytes first: still fine
    assert verify_run(run_dir, ca_path=pki.ca).problems[0].startswith("captures/s1.pcapng: content changed")
    lines = [
        f"{hashlib.sha256(b'forged').hexdigest()}  captures/s1.pcapng" if line.endswith("s1.pcapng") else line
        for line in manifest.read_text().splitlines()
    ]
    manifest.write_text("\n".join(lines) + "\n")
    problems = verify_run(run_dir, ca_path=pki.ca).problems
    assert problems == [f"{SIGNATURE_FILE}: the content does not match the signed message digest"]
    done = _openssl_verify(run_dir, pki.ca)
    assert done.returncode != 0 and "Verification successful" not in done.stderr


def test_missing_and_extra_files_are_named(run_dir: Path, pki) -> None:
    sign_run(run_dir, pki.key, pki.cert)
    (run_dir / "results.json").unlink()
    (run_dir / "added.txt").write_text("x")
    assert verify_run(run_dir, cert_path=pki.cert).problems == [
        "results.json: listed in the manifest but missing",
        "added.txt: present but not in the manifest",
    ]


@needs_openssl
def test_wrong_signer(run_dir: Path, pki) -> None:
    sign_run(run_dir, pki.other_key, pki.other_cert)
    assert verify_run(run_dir).ok  # the signature itself holds ...
    problems = verify_run(run_dir, cert_path=pki.cert).problems
    assert problems == [f"{SIGNATURE_FILE}: signed by CN=Someone else, not by the certificate in {pki.cert}"]
    (problem,) = verify_run(run_dir, ca_path=pki.ca).problems
    assert "signer not trusted: no certificate of the CA file issued CN=Someone else" in problem
    assert _openssl_verify(run_dir, pki.ca).returncode != 0


def test_key_and_certificate_must_match(run_dir: Path, pki) -> None:
    with pytest.raises(SigningError, match="no certificate in it belongs to the key"):
        sign_run(run_dir, pki.other_key, pki.cert)
    with pytest.raises(SigningError, match="holds no certificate; name the signer's certificate with --cert"):
        sign_run(run_dir, pki.key)
    assert not (run_dir / SIGNATURE_FILE).exists()


def test_key_file_holding_the_certificate_too(run_dir: Path, pki, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pki.key.read_bytes() + pki.cert.read_bytes())
    sign_run(run_dir, bundle)
    assert verify_run(run_dir, cert_path=pki.cert).ok


def test_encrypted_key(run_dir: Path, pki, tmp_path: Path) -> None:
    key = _write_key(tmp_path / "enc.key", pki.lab_key, b"s3cret")
    with pytest.raises(EncryptedKeyError):
        load_signer(key, pki.cert)
    with pytest.raises(SigningError, match="wrong passphrase"):
        load_signer(key, pki.cert, b"nope")
    sign_manifest(run_dir, load_signer(key, pki.cert, b"s3cret"))
    assert verify_run(run_dir, ca_path=pki.ca).ok


def test_unsigned_and_corrupt_signatures(run_dir: Path, pki) -> None:
    assert verify_run(run_dir).problems == [
        f"{SIGNATURE_FILE}: missing, the run is not signed (vgi report RUN_DIR --sign KEY)"
    ]
    signature = sign_run(run_dir, pki.key, pki.cert)
    der = bytearray(signature.read_bytes())
    der[-5] ^= 0xFF  # inside the ECDSA signature value
    signature.write_bytes(bytes(der))
    (problem,) = verify_run(run_dir).problems
    assert problem.startswith(SIGNATURE_FILE) and ("does not verify" in problem or "DER" in problem)
    signature.write_bytes(b"\x30\x80garbage")
    assert "indefinite length" in verify_run(run_dir).problems[0]
    signature.write_bytes(b"not DER at all")
    assert verify_run(run_dir).problems[0].startswith(f"{SIGNATURE_FILE}: ")


def test_signer_outside_its_validity(run_dir: Path, pki, tmp_path: Path) -> None:
    expired = _cert(pki.lab_key, "Lab signer", pki.ca_key, "Lab CA", days=(-30, -1))
    sign_manifest(run_dir, Signer(pki.lab_key, expired))
    (problem,) = verify_run(run_dir, ca_path=pki.ca).problems
    assert "is not valid at" in problem


def test_a_new_manifest_drops_the_old_signature(run_dir: Path, pki) -> None:
    sign_run(run_dir, pki.key, pki.cert)
    write_manifest(run_dir)  # nothing changed: the signature still holds and stays
    assert verify_run(run_dir, ca_path=pki.ca).ok
    (run_dir / "results.json").write_text("{}\n")
    write_manifest(run_dir)
    assert not (run_dir / SIGNATURE_FILE).exists()


@needs_openssl
@pytest.mark.parametrize("kind", ["ec", "rsa-noattr"])
def test_we_verify_what_openssl_signs(tmp_path: Path, kind: str) -> None:
    key = ec.generate_private_key(ec.SECP384R1()) if kind == "ec" else rsa.generate_private_key(65537, 2048)
    cert = _cert(key, "openssl signer")
    key_file, cert_file = _write_key(tmp_path / "k.pem", key), _write_cert(tmp_path / "c.pem", cert)
    content = tmp_path / "content"
    content.write_bytes(b"abc  def\r\nline two\n")
    out = tmp_path / "sig.der"
    extra = ["-noattr"] if kind == "rsa-noattr" else []
    command = [OPENSSL, "cms", "-sign", "-binary", "-outform", "DER", "-in", str(content)]
    command += ["-signer", str(cert_file), "-inkey", str(key_file), "-out", str(out), *extra]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    signed = verify_detached(out.read_bytes(), content.read_bytes())
    assert signed.signer == cert and (signed.signed_attributes is None) == (kind == "rsa-noattr")
    with pytest.raises(CmsError):
        verify_detached(out.read_bytes(), content.read_bytes() + b"!")


def test_parse_our_structure(pki) -> None:
    der = sign_detached(b"content", pki.lab_key, pki.lab)
    signed = parse_signed_data(der)
    assert signed.signer == pki.lab and signed.digest_oid == "2.16.840.1.101.3.4.2.1"
    assert signed.content_type == "1.2.840.113549.1.7.1" and signed.message_digest is not None
    with pytest.raises(CmsError, match="not a CMS SignedData"):
        parse_signed_data(bytes.fromhex("3005060355040a"))


@needs_openssl
def test_chain_file_intermediates_travel_in_the_signature(run_dir: Path, pki, tmp_path: Path) -> None:
    """Signed with a chain file (leaf, intermediate): root-only trust suffices, for us and for openssl."""
    mid_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    mid = _cert(mid_key, "Lab intermediate", pki.ca_key, "Lab CA", ca=True)
    # No subject, as 2030.5 device certificates have: named by serial and issuer instead.
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(_name("Lab intermediate"))
        .public_key(leaf_key.public_key())
        .serial_number(0xABC)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .sign(mid_key, hashes.SHA256())
    )
    chain = _write_cert(tmp_path / "chain.pem", leaf, mid)
    sign_run(run_dir, _write_key(tmp_path / "leaf.key", leaf_key), chain)
    result = verify_run(run_dir, ca_path=pki.ca)
    assert result.ok, result.problems
    assert result.signer == "serial ABC issued by CN=Lab intermediate"
    assert _openssl_verify(run_dir, pki.ca).returncode == 0
    sign_run(run_dir, tmp_path / "leaf.key", _write_cert(tmp_path / "leaf.pem", leaf))  # without the chain
    (problem,) = verify_run(run_dir, ca_path=pki.ca).problems
    assert problem.endswith("no certificate of the CA file issued serial ABC issued by CN=Lab intermediate")
