"""Make the lab's test PKI: SERCA -> MCA -> MICA -> one device certificate per role.

:func:`init_pki` writes, under its directory::

    pki.json                     manifest: roles, file names, LFDI and SFDI of every device
    serca.pem                    the trust anchor every harness endpoint uses
    ca/{serca,mca,mica}.key.pem  CA keys (a test lab's; never use them for anything real)
    ca/{mca,mica}.pem            intermediate CA certificates
    <role>/cert.pem              device certificate
    <role>/key.pem               device private key (PKCS#8, unencrypted, mode 0600)
    <role>/chain.pem             device + MICA + MCA: what the TLS endpoint presents
    untrusted-ca/...             a second, unrelated SERCA -> MCA -> MICA for the "untrusted" role

:mod:`harness.pki.store` reads it back.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.pki.certificates import Authority as _Authority
from harness.pki.certificates import issue_ca
from harness.pki.certificates import key_pem as _key_pem
from harness.pki.certificates import pem as _pem
from harness.pki.certificates import signing_key_usage as _device_key_usage
from harness.pki.certificates import write_file as _write
from harness.pki.identity import lfdi_from_der, sfdi_from_lfdi
from harness.pki.profile import (
    CURVE,
    HARDWARE_TYPE_OID,
    INDEFINITE_NOT_AFTER,
    MCA_PATH_LENGTH,
    MICA_PATH_LENGTH,
    OID_HARDWARE_MODULE_NAME,
    ROLES,
    UNTRUSTED_ROLE,
    device_policies,
)
from harness.pki.store import MANIFEST_NAME

MANIFEST_VERSION = 1
TRUST_ANCHOR_NAME = "serca.pem"
UNTRUSTED_CA_DIR = "untrusted-ca"
# Certificates are back-dated so that a peer whose clock lags a little still accepts them.
BACKDATE = timedelta(hours=1)
_ROLE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_RESERVED_NAMES = frozenset({"ca", UNTRUSTED_CA_DIR})


class PkiExists(FileExistsError):
    """The directory already holds a PKI and ``force`` was not given."""


# --- minimal DER for the hardwareModuleName otherName (RFC 4108) ---------------------------------


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(content)) + content


def _der_oid(oid: x509.ObjectIdentifier) -> bytes:
    arcs = [int(part) for part in oid.dotted_string.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return _der(0x06, bytes(body))


def hardware_module_name(hw_type: x509.ObjectIdentifier, serial: bytes) -> x509.OtherName:
    """RFC 4108 HardwareModuleName ::= SEQUENCE { hwType OBJECT IDENTIFIER, hwSerialNum OCTET STRING }."""
    value = _der(0x30, _der_oid(hw_type) + _der(0x04, serial))
    return x509.OtherName(OID_HARDWARE_MODULE_NAME, value)


# --- certificates --------------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "VGI conformance harness (test PKI)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _make_ca(
    common_name: str, issuer: _Authority | None, path_length: int | None, not_before: datetime
) -> _Authority:
    return issue_ca(_name(common_name), issuer, path_length, not_before, INDEFINITE_NOT_AFTER, CURVE)


def _make_device(role: str, issuer: _Authority, not_before: datetime) -> _Authority:
    key = ec.generate_private_key(CURVE)
    serial = f"VGI-{role}-{secrets.token_hex(6)}".encode("ascii")
    policies = [x509.PolicyInformation(oid, None) for oid in device_policies(role)]
    certificate = (
        x509.CertificateBuilder()
        # IEEE 2030.5 clause 6.11.8: the subject of a device certificate is empty; the identity
        # is in the subjectAltName (hence critical, RFC 5280 clause 4.2.1.6) and in the LFDI.
        .subject_name(x509.Name([]))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(INDEFINITE_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_device_key_usage(), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([hardware_module_name(HARDWARE_TYPE_OID, serial)]), critical=True
        )
        .add_extension(x509.CertificatePolicies(policies), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
        .sign(issuer.key, hashes.SHA256())
    )
    return _Authority(certificate, key)


# --- files ---------------------------------------------------------------------------------------


def _make_hierarchy(directory: Path, label: str, not_before: datetime) -> tuple[_Authority, _Authority]:
    serca = _make_ca(f"{label} SERCA", None, None, not_before)
    mca = _make_ca(f"{label} MCA", serca, MCA_PATH_LENGTH, not_before)
    mica = _make_ca(f"{label} MICA", mca, MICA_PATH_LENGTH, not_before)
    _write(directory / TRUST_ANCHOR_NAME, _pem(serca.certificate))
    for name, authority in (("serca", serca), ("mca", mca), ("mica", mica)):
        if name != "serca":
            _write(directory / "ca" / f"{name}.pem", _pem(authority.certificate))
        _write(directory / "ca" / f"{name}.key.pem", _key_pem(authority.key), secret=True)
    return mca, mica


def _issue(
    directory: Path, role: str, mca: _Authority, mica: _Authority, anchor: Path, not_before: datetime
) -> dict[str, object]:
    device = _make_device(role, mica, not_before)
    role_dir = directory / role
    _write(role_dir / "cert.pem", _pem(device.certificate))
    _write(role_dir / "key.pem", _key_pem(device.key), secret=True)
    _write(role_dir / "chain.pem", _pem(device.certificate) + _pem(mica.certificate) + _pem(mca.certificate))
    lfdi = lfdi_from_der(device.certificate.public_bytes(serialization.Encoding.DER))
    return {
        "cert": f"{role}/cert.pem",
        "key": f"{role}/key.pem",
        "chain": f"{role}/chain.pem",
        "trust_anchor": anchor.relative_to(directory).as_posix(),
        "lfdi": lfdi,
        "sfdi": sfdi_from_lfdi(lfdi),
    }


def check_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """The roles, de-duplicated in order, each a lower-case slug; ValueError otherwise."""
    result: list[str] = []
    for role in roles:
        if not _ROLE_NAME.fullmatch(role) or role in _RESERVED_NAMES:
            raise ValueError(f"invalid role name {role!r}: use lower-case letters, digits and '-'")
        if role not in result:
            result.append(role)
    return tuple(result)


def init_pki(
    directory: str | os.PathLike[str],
    roles: Iterable[str] = ROLES,
    *,
    force: bool = False,
    now: datetime | None = None,
) -> dict[str, object]:
    """Create the test PKI in ``directory`` and return its manifest (also written to pki.json).

    Every role in ``roles`` gets a device certificate under the lab's SERCA; the ``untrusted``
    role always exists, under a SERCA of its own that no harness endpoint trusts.
    """
    root = Path(directory)
    wanted = [role for role in check_roles(roles) if role != UNTRUSTED_ROLE]
    if (root / MANIFEST_NAME).exists() and not force:
        hint = "replace it with force=True (`vgi pki init --force`)"
        raise PkiExists(f"{root} already holds a PKI ({MANIFEST_NAME}); {hint}")
    not_before = (now or datetime.now(UTC)).replace(microsecond=0) - BACKDATE
    root.mkdir(parents=True, exist_ok=True)

    mca, mica = _make_hierarchy(root, "VGI lab", not_before)
    anchor = root / TRUST_ANCHOR_NAME
    devices = {role: _issue(root, role, mca, mica, anchor, not_before) for role in wanted}

    foreign = root / UNTRUSTED_CA_DIR
    foreign_mca, foreign_mica = _make_hierarchy(foreign, "Untrusted", not_before)
    devices[UNTRUSTED_ROLE] = _issue(
        root, UNTRUSTED_ROLE, foreign_mca, foreign_mica, foreign / TRUST_ANCHOR_NAME, not_before
    )

    manifest: dict[str, object] = {
        "version": MANIFEST_VERSION,
        "trust_anchor": TRUST_ANCHOR_NAME,
        "created": not_before.isoformat(),
        "roles": devices,
    }
    _write(root / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    return manifest


def _load_authority(directory: Path, name: str) -> _Authority:
    from harness.pki.store import PkiError

    try:
        certificate = x509.load_pem_x509_certificate((directory / "ca" / f"{name}.pem").read_bytes())
        key = serialization.load_pem_private_key(
            (directory / "ca" / f"{name}.key.pem").read_bytes(), password=None
        )
    except (OSError, ValueError) as exc:
        raise PkiError(f"the PKI at {directory} has no usable {name.upper()} (ca/{name}.pem): {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"ca/{name}.key.pem in {directory} is not an EC key")
    return _Authority(certificate, key)


def issue_device(
    directory: str | os.PathLike[str], role: str, *, force: bool = False, now: datetime | None = None
) -> dict[str, object]:
    """Issue a device certificate for ``role`` (e.g. the DUT) under the MICA of the existing lab
    PKI in ``directory`` and add it to pki.json; returns the role's manifest entry."""
    root = Path(directory)
    (name,) = check_roles([role])
    if name == UNTRUSTED_ROLE:
        raise ValueError(f"the {UNTRUSTED_ROLE!r} role belongs to the foreign hierarchy; choose another name")
    manifest = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    roles = manifest["roles"]
    if name in roles and not force:
        raise PkiExists(f"{root} already has a certificate for {name!r}; replace it with `--force`")
    not_before = (now or datetime.now(UTC)).replace(microsecond=0) - BACKDATE
    mca, mica = _load_authority(root, "mca"), _load_authority(root, "mica")
    roles[name] = _issue(root, name, mca, mica, root / TRUST_ANCHOR_NAME, not_before)
    _write(root / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    return roles[name]
