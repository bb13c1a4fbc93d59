"""Read back a PKI that :func:`harness.pki.hierarchy.init_pki` made."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from harness.pki.identity import der_from_pem, lfdi_from_der, sfdi_from_lfdi

MANIFEST_NAME = "pki.json"


class PkiError(RuntimeError):
    """The PKI directory is missing, incomplete or inconsistent."""


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """One role's credentials: what a TLS endpoint needs, and the identifiers 2030.5 derives."""

    role: str
    cert_path: Path
    key_path: Path
    chain_path: Path
    trust_anchor_path: Path
    lfdi: str
    sfdi: int

    def certificate_der(self) -> bytes:
        return der_from_pem(self.cert_path.read_bytes())


def _manifest(directory: Path) -> dict[str, object]:
    path = directory / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PkiError(
            f"no PKI at {directory} (missing {MANIFEST_NAME}); run `vgi pki init {directory}`"
        ) from None
    except (OSError, ValueError) as exc:
        raise PkiError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("roles"), dict):
        raise PkiError(f"{path} is not a PKI manifest")
    return data


def list_roles(directory: str | os.PathLike[str]) -> tuple[str, ...]:
    """The roles the PKI in ``directory`` has certificates for."""
    roles = _manifest(Path(directory))["roles"]
    assert isinstance(roles, dict)
    return tuple(roles)


def load_identity(directory: str | os.PathLike[str], role: str) -> DeviceIdentity:
    """The credentials of ``role``, checked: files exist and the LFDI matches the certificate."""
    root = Path(directory)
    roles = _manifest(root)["roles"]
    assert isinstance(roles, dict)
    entry = roles.get(role)
    if not isinstance(entry, dict):
        raise PkiError(f"the PKI at {root} has no role {role!r}; it has: {', '.join(roles)}")
    paths = {key: root / str(entry[key]) for key in ("cert", "key", "chain", "trust_anchor")}
    for key, path in paths.items():
        if not path.is_file():
            raise PkiError(f"{role}: {key} file {path} is missing")
    lfdi = lfdi_from_der(der_from_pem(paths["cert"].read_bytes()))
    if str(entry.get("lfdi", "")).upper() != lfdi:
        raise PkiError(f"{role}: manifest LFDI {entry.get('lfdi')} does not match {paths['cert']} ({lfdi})")
    return DeviceIdentity(
        role=role,
        cert_path=paths["cert"],
        key_path=paths["key"],
        chain_path=paths["chain"],
        trust_anchor_path=paths["trust_anchor"],
        lfdi=lfdi,
        sfdi=sfdi_from_lfdi(lfdi),
    )


def load_pki(directory: str | os.PathLike[str]) -> dict[str, DeviceIdentity]:
    """Every role's credentials, keyed by role."""
    return {role: load_identity(directory, role) for role in list_roles(directory)}


def trust_anchor(directory: str | os.PathLike[str]) -> Path:
    """The lab SERCA certificate that harness endpoints trust."""
    root = Path(directory)
    path = root / str(_manifest(root).get("trust_anchor", "serca.pem"))
    if not path.is_file():
        raise PkiError(f"trust anchor {path} is missing")
    return path


# PIXIT certificates keys (lab config) naming a DUT's or the tester's own credentials.
DUT_CERT_KEY = "dut_cert"
DUT_KEY_KEY = "dut_key"
TRUST_ANCHOR_KEY = "trust_anchor"
TESTER_CERT_KEY = "tester_cert"
TESTER_KEY_KEY = "tester_key"
LAB_CERTIFICATE_KEYS = (DUT_CERT_KEY, DUT_KEY_KEY, TRUST_ANCHOR_KEY, TESTER_CERT_KEY, TESTER_KEY_KEY)


def _read(what: str, path: Path) -> bytes:
    if not path.is_file():
        raise PkiError(f"{what} file {path} does not exist")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PkiError(f"cannot read {what} file {path}: {exc.strerror}") from exc


def check_certificate_file(what: str, path: Path) -> list[object]:
    """The certificates of a PEM file (at least one), or a PkiError naming the file and the problem."""
    from cryptography import x509

    data = _read(what, path)
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise PkiError(f"{what} file {path} holds no PEM certificate that parses: {exc}") from exc
    return list(certificates)


def check_key_file(what: str, path: Path, certificate: object | None = None) -> None:
    """A PEM private key that parses (unencrypted) and, given a certificate, belongs to it."""
    from cryptography.hazmat.primitives import serialization

    data = _read(what, path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise PkiError(f"{what} file {path} is not an unencrypted PEM private key: {exc}") from exc
    if certificate is not None:
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        encoding = serialization.Encoding.DER
        mine = key.public_key().public_bytes(encoding, public)
        theirs = certificate.public_key().public_bytes(encoding, public)  # type: ignore[attr-defined]
        if mine != theirs:
            raise PkiError(f"{what} file {path} does not belong to the certificate it is paired with")


def check_lab_certificates(certificates: dict[str, Path] | object) -> None:
    """Validate the PIXIT certificate files the harness reads (the keys above): each exists and
    parses, keys match their certificates, and a tester key comes with a tester certificate."""
    paths = dict(certificates)  # type: ignore[call-overload]
    if (TESTER_CERT_KEY in paths) != (TESTER_KEY_KEY in paths):
        raise PkiError("PIXIT certificates: give tester_cert and tester_key together")
    if DUT_KEY_KEY in paths and DUT_CERT_KEY not in paths:
        raise PkiError("PIXIT certificates: dut_key without dut_cert")
    for cert_key, key_key in ((DUT_CERT_KEY, DUT_KEY_KEY), (TESTER_CERT_KEY, TESTER_KEY_KEY)):
        if cert_key in paths:
            chain = check_certificate_file(f"PIXIT {cert_key}", Path(paths[cert_key]))
            if key_key in paths:
                check_key_file(f"PIXIT {key_key}", Path(paths[key_key]), chain[0])
    if TRUST_ANCHOR_KEY in paths:
        check_certificate_file(f"PIXIT {TRUST_ANCHOR_KEY}", Path(paths[TRUST_ANCHOR_KEY]))


def external_identity(
    role: str, cert_path: Path, key_path: Path | None, trust_anchor_path: Path
) -> DeviceIdentity:
    """Credentials the lab supplies (PIXIT): the certificate file is presented whole (device
    certificate first, then its CAs); LFDI and SFDI come from the first certificate."""
    check_certificate_file(f"{role} certificate", cert_path)
    lfdi = lfdi_from_der(der_from_pem(cert_path.read_bytes()))
    return DeviceIdentity(
        role=role,
        cert_path=cert_path,
        key_path=key_path if key_path is not None else cert_path,
        chain_path=cert_path,
        trust_anchor_path=trust_anchor_path,
        lfdi=lfdi,
        sfdi=sfdi_from_lfdi(lfdi),
    )
