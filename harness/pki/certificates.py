"""What every test hierarchy of the harness shares: an issuing authority (certificate + key), how a CA
certificate and a TLS leaf are made, the CA key usage, PEM encodings and how files are written.  The
IEEE 2030.5 hierarchy (:mod:`harness.pki.hierarchy`), the ISO 15118-2 one (:mod:`harness.pki.v2g`) and the
ISO 15118-20 one (:mod:`harness.pki.v2g20`) build on it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448

# The private keys the hierarchies sign with: ECDSA, and Ed448 (RFC 8032; ISO 15118-20's alternative).
SigningKey = ec.EllipticCurvePrivateKey | ed448.Ed448PrivateKey


class Ed448:
    """The key type that stands where a hierarchy names an EC curve when its keys are Ed448 (EdDSA signs
    without a separate hash)."""

    name = "ed448"


KeyType = ec.EllipticCurve | Ed448


def generate_key(key_type: KeyType) -> SigningKey:
    """A fresh private key of ``key_type``: on an EC curve, or Ed448."""
    if isinstance(key_type, Ed448):
        return ed448.Ed448PrivateKey.generate()
    return ec.generate_private_key(key_type)


def _hash_for(signer: SigningKey, requested: hashes.HashAlgorithm | None) -> hashes.HashAlgorithm | None:
    # EdDSA hashes internally: the signature algorithm takes no hash (cryptography wants None).
    if isinstance(signer, ed448.Ed448PrivateKey):
        return None
    return requested or hashes.SHA256()


@dataclass(frozen=True, slots=True)
class Authority:
    """A certificate with its private key: a CA that issues, or a leaf that a TLS endpoint presents."""

    certificate: x509.Certificate
    key: SigningKey


def issue_ca(
    subject: x509.Name,
    issuer: Authority | None,
    path_length: int | None,
    not_before: datetime,
    not_after: datetime,
    curve: KeyType,
    *,
    signature_hash: hashes.HashAlgorithm | None = None,
) -> Authority:
    """A CA certificate with a fresh key on ``curve`` (or Ed448), signed with ``signature_hash`` (default
    SHA-256; none for an Ed448 signer) by ``issuer`` (None: self-signed, a root): critical basic constraints
    with ``path_length`` and the CA key usage, subject and authority key identifiers."""
    key = generate_key(curve)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer.certificate.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    signer = key if issuer is None else issuer.key
    return Authority(builder.sign(signer, _hash_for(signer, signature_hash)), key)


def issue_end_entity(
    subject: x509.Name,
    issuer: Authority,
    not_before: datetime,
    not_after: datetime,
    curve: KeyType,
    key_usage: x509.KeyUsage,
    *,
    signature_hash: hashes.HashAlgorithm | None = None,
) -> Authority:
    """An end-entity certificate (a TLS leaf) with a fresh key on ``curve`` (or Ed448), signed with
    ``signature_hash`` (default SHA-256; none for an Ed448 signer) by ``issuer``: critical basic constraints
    CA false, critical ``key_usage``, subject and authority key identifiers."""
    key = generate_key(curve)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
        .sign(issuer.key, _hash_for(issuer.key, signature_hash))
    )
    return Authority(certificate, key)


def ca_key_usage() -> x509.KeyUsage:
    """keyCertSign + cRLSign: what a CA certificate of either hierarchy may do (RFC 5280 4.2.1.3)."""
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def signing_key_usage() -> x509.KeyUsage:
    """digitalSignature + keyAgreement: an end-entity ECDSA key that signs in the TLS handshake and may
    agree keys (IEEE 2030.5 clause 6.11.8; ISO 15118-2 Annex F for the SECC certificate)."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=True,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def key_pem(key: SigningKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_file(path: Path, data: bytes, *, secret: bool = False) -> None:
    """Write ``data`` to ``path`` (folders made), mode 0600 for a secret (a private key), else 0644."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o600 if secret else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)  # O_CREAT's mode does not apply to a file that already existed
