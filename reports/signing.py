"""Signed runs: a detached CMS signature over ``manifest.sha256`` and the check of a whole run.

The manifest holds the SHA-256 of every artifact, so signing it signs the run.  The signature is
``manifest.sha256.p7s`` beside it: DER CMS (PKCS #7) SignedData, SHA-256, the signer's certificate
inside, the content detached and signed byte for byte, so stock ``openssl cms -verify -binary`` checks it
(the exact command is :data:`reports.manifest.OPENSSL_VERIFY`).

:func:`verify_run` checks every manifest line (missing, changed and extra files named), then the
signature, then whom it names: with ``cert`` the signer must be that certificate, with ``ca`` the
signer's certificate must chain to one of the CA file's certificates (through any the signature
carries) and be valid at the signing time; with neither only the signature itself is checked, and the
result says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from reports.cms import CmsError, SignedData, sign_detached, verify_detached
from reports.manifest import MANIFEST_FILE, SIGNATURE_FILE, verify_manifest

# A CA chain longer than this is refused rather than walked.
_MAX_CHAIN = 8


class SigningError(ValueError):
    """A key or certificate that cannot sign: unreadable, encrypted without a passphrase, mismatched."""


class EncryptedKeyError(SigningError):
    """The signing key is encrypted and no passphrase was given."""


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SigningError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from exc


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate of a PEM file (or the one of a DER file)."""
    data = _read(path, "certificate")
    try:
        if b"-----BEGIN" in data:
            certificates = x509.load_pem_x509_certificates(data)
        else:
            certificates = [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise SigningError(f"{path}: not a certificate file ({exc})") from exc
    return certificates


def load_signer(key_path: Path, cert_path: Path | None, password: bytes | None = None) -> Signer:
    """The private key of ``key_path`` and its certificate: from ``cert_path``, or from the key file
    when that holds both (PEM).  The file's other certificates (a chain file's intermediates) go into
    the signature too.  ``password`` is the passphrase of an encrypted key."""
    data = _read(key_path, "signing key")
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=password)
        else:
            key = serialization.load_der_private_key(data, password=password)
    except TypeError as exc:
        raise EncryptedKeyError(f"{key_path}: the key is encrypted and no passphrase was given") from exc
    except ValueError as exc:
        raise SigningError(f"{key_path}: not a private key, or a wrong passphrase ({exc})") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise SigningError(f"{key_path}: a {type(key).__name__}; CMS signing here takes an EC or RSA key")
    if cert_path is not None:
        certificates = load_certificates(cert_path)
        source = cert_path
    else:
        try:
            certificates = x509.load_pem_x509_certificates(data) if b"-----BEGIN CERTIFICATE" in data else []
        except ValueError:
            certificates = []
        source = key_path
        if not certificates:
            raise SigningError(f"{key_path}: holds no certificate; name the signer's certificate with --cert")
    ours = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for certificate in certificates:
        theirs = certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if theirs == ours:
            others = tuple(c for c in certificates if c is not certificate and c.subject != c.issuer)
            return Signer(key, certificate, others)
    raise SigningError(f"{source}: no certificate in it belongs to the key in {key_path}")


def sign_manifest(run_dir: Path, signer: Signer) -> Path:
    """Write ``manifest.sha256.p7s`` over the run's manifest with a loaded signer; return its path."""
    run_dir = Path(run_dir)
    manifest = run_dir / MANIFEST_FILE
    if not manifest.is_file():
        raise SigningError(f"{run_dir}: no {MANIFEST_FILE} to sign")
    signature = run_dir / SIGNATURE_FILE
    content = manifest.read_bytes()
    signature.write_bytes(sign_detached(content, signer.key, signer.certificate, signer.intermediates))
    return signature


def sign_run(
    run_dir: Path, key_path: Path, cert_path: Path | None = None, password: bytes | None = None
) -> Path:
    """Write ``manifest.sha256.p7s`` over the run's manifest with the key (and certificate) of these files."""
    return sign_manifest(run_dir, load_signer(key_path, cert_path, password))


@dataclass(frozen=True, slots=True)
class Signer:
    """A loaded signing key, its certificate, and the certificates to send along (its chain)."""

    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    certificate: x509.Certificate
    intermediates: tuple[x509.Certificate, ...] = ()


def describe(certificate: x509.Certificate) -> str:
    """A certificate's subject, or its serial and issuer when the subject is empty (2030.5 device
    certificates carry their identity in subjectAltName only)."""
    subject = certificate.subject.rfc4514_string()
    if subject:
        return subject
    return f"serial {certificate.serial_number:X} issued by {certificate.issuer.rfc4514_string()}"


@dataclass(slots=True)
class Verification:
    problems: list[str] = field(default_factory=list)
    signer: str | None = None  # the signer certificate's subject, when the signature could be read
    signed_at: dt.datetime | None = None
    trust: str = ""  # what the signer was checked against

    @property
    def ok(self) -> bool:
        return not self.problems


def _valid_at(certificate: x509.Certificate, when: dt.datetime) -> bool:
    return certificate.not_valid_before_utc <= when <= certificate.not_valid_after_utc


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    if child.issuer != parent.subject:
        return False
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def chain_problem(signed: SignedData, anchors: list[x509.Certificate], when: dt.datetime) -> str | None:
    """Why the signer does not chain to one of ``anchors`` (valid at ``when``); None when it does."""
    anchor_der = {a.public_bytes(serialization.Encoding.DER) for a in anchors}
    pool = [*signed.certificates, *anchors]
    current = signed.signer
    for _ in range(_MAX_CHAIN):
        if not _valid_at(current, when):
            return f"certificate {describe(current)} is not valid at {when.isoformat()}"
        if current.public_bytes(serialization.Encoding.DER) in anchor_der:
            return None
        parent = next((c for c in pool if c is not current and _issued_by(current, c)), None)
        if parent is None:
            return f"no certificate of the CA file issued {describe(current)}"
        current = parent
    return f"the chain is longer than {_MAX_CHAIN} certificates"


def verify_run(run_dir: Path, cert_path: Path | None = None, ca_path: Path | None = None) -> Verification:
    """Check the manifest, the signature and the signer of ``run_dir``; see the module docstring."""
    run_dir = Path(run_dir)
    result = Verification(problems=verify_manifest(run_dir))
    manifest = run_dir / MANIFEST_FILE
    signature = run_dir / SIGNATURE_FILE
    if not signature.is_file():
        result.problems.append(
            f"{SIGNATURE_FILE}: missing, the run is not signed (vgi report RUN_DIR --sign KEY)"
        )
        return result
    if not manifest.is_file():
        return result  # verify_manifest said so
    try:
        signed = verify_detached(signature.read_bytes(), manifest.read_bytes())
    except CmsError as exc:
        result.problems.append(f"{SIGNATURE_FILE}: {exc}")
        return result
    except ValueError as exc:  # a certificate inside it that does not parse
        result.problems.append(f"{SIGNATURE_FILE}: unreadable ({exc})")
        return result
    result.signer = describe(signed.signer)
    result.signed_at = signed.signing_time
    when = signed.signing_time or dt.datetime.now(dt.UTC)
    if cert_path is not None:
        expected = load_certificates(cert_path)
        result.trust = f"the certificate in {cert_path}"
        signer_der = signed.signer.public_bytes(serialization.Encoding.DER)
        if signer_der not in {c.public_bytes(serialization.Encoding.DER) for c in expected}:
            result.problems.append(
                f"{SIGNATURE_FILE}: signed by {result.signer}, not by the certificate in {cert_path}"
            )
    elif ca_path is not None:
        result.trust = f"the CA certificates in {ca_path}"
        problem = chain_problem(signed, load_certificates(ca_path), when)
        if problem:
            result.problems.append(f"{SIGNATURE_FILE}: signer not trusted: {problem}")
    else:
        result.trust = "nothing: the signer certificate was not checked (give --cert or --ca)"
    return result
