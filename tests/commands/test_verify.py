"""`vgi report RUN_DIR --sign KEY [--cert CERT]` and `vgi verify RUN_DIR [--cert CERT | --ca CA]`."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.cli import main
from harness.commands.report import KEY_PASSWORD_ENV
from harness.verdict.verdicts import Verdict
from reports.manifest import MANIFEST_FILE, OPENSSL_VERIFY, SIGNATURE_FILE


def _signer(directory: Path, cn: str, password: bytes | None = None) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    key_path, cert_path = directory / f"{cn}.key", directory / f"{cn}.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def test_sign_verify_tamper(tmp_path: Path, results_run, capsys: pytest.CaptureFixture[str]) -> None:
    run = results_run("run", {"S1": Verdict.PASS})
    key, cert = _signer(tmp_path, "lab")
    assert main(["report", str(run), "--sign", str(key), "--cert", str(cert)]) == 0
    written = capsys.readouterr().out.split()
    assert [Path(p).name for p in written] == [
        "report.html",
        "junit.xml",
        "coverage.json",
        MANIFEST_FILE,
        SIGNATURE_FILE,
    ]
    assert main(["verify", str(run), "--ca", str(cert)]) == 0
    out = capsys.readouterr().out
    assert "signer: CN=lab (" in out and out.rstrip().endswith("its signature verifies")
    if shutil.which("openssl"):
        command = OPENSSL_VERIFY.replace("RUN_DIR", str(run)).replace("CA.pem", str(cert))
        assert subprocess.run(["sh", "-c", command], capture_output=True, timeout=60).returncode == 0
    (run / "report.html").write_text("changed", encoding="utf-8")
    assert main(["verify", str(run), "--cert", str(cert)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  report.html: content changed (sha256 differs from the manifest)" in out
    assert out.rstrip().endswith("1 problem(s)")


def test_wrong_certificate(tmp_path: Path, results_run, capsys: pytest.CaptureFixture[str]) -> None:
    run = results_run("run", {"S1": Verdict.PASS})
    key, cert = _signer(tmp_path, "lab")
    _, other = _signer(tmp_path, "other")
    assert main(["report", str(run), "--sign", str(key), "--cert", str(cert)]) == 0
    capsys.readouterr()
    assert main(["verify", str(run), "--cert", str(other)]) == 1
    assert (
        f"FAIL  {SIGNATURE_FILE}: signed by CN=lab, not by the certificate in {other}"
        in capsys.readouterr().out
    )
    # A key with someone else's certificate signs nothing and leaves the run as it was.
    assert main(["report", str(run), "--sign", str(key), "--cert", str(other)]) == 2
    assert "no certificate in it belongs to the key" in capsys.readouterr().err
    assert main(["verify", str(run), "--ca", str(cert)]) == 0


def test_encrypted_key_from_the_environment(tmp_path: Path, results_run, capsys, monkeypatch) -> None:
    run = results_run("run", {"S1": Verdict.PASS})
    key, cert = _signer(tmp_path, "lab", password=b"pw")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    monkeypatch.delenv(KEY_PASSWORD_ENV, raising=False)
    assert main(["report", str(run), "--sign", str(key), "--cert", str(cert)]) == 2
    assert f"set {KEY_PASSWORD_ENV}" in capsys.readouterr().err
    assert not (run / SIGNATURE_FILE).exists()
    monkeypatch.setenv(KEY_PASSWORD_ENV, "pw")
    assert main(["report", str(run), "--sign", str(key), "--cert", str(cert)]) == 0
    assert main(["verify", str(run), "--cert", str(cert)]) == 0


def test_usage_errors_and_unsigned(tmp_path: Path, results_run, capsys: pytest.CaptureFixture[str]) -> None:
    run = results_run("run", {"S1": Verdict.PASS})
    _, cert = _signer(tmp_path, "lab")
    assert main(["report", str(run), "--cert", str(cert)]) == 2
    assert "--cert names the signer's certificate; it needs --sign KEY" in capsys.readouterr().err
    assert main(["report", str(run)]) == 0
    capsys.readouterr()
    assert main(["verify", str(run)]) == 1  # not signed
    assert f"FAIL  {SIGNATURE_FILE}: missing, the run is not signed" in capsys.readouterr().out
    assert main(["verify", str(tmp_path / "nope")]) == 2
    assert main(["verify", str(run), "--ca", str(tmp_path / "none.pem")]) == 2
    assert "none.pem: no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["verify", str(run), "--ca", str(cert), "--cert", str(cert)])
    assert exc.value.code == 2


def test_help_prints_the_openssl_command(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("report", "verify"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert "openssl cms -verify -binary -inform DER" in out and "-purpose any" in out, command
