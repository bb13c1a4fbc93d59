"""The lab's ISO 15118-20 test PKI: V2G root -> CPO Sub-CA 1 -> CPO Sub-CA 2 -> SECC certificate, and
OEM root -> OEM Sub-CA 1 -> OEM Sub-CA 2 -> vehicle certificate for the EVCC's side of mutual TLS.

Profile (ISO 15118-20:2022 clause 7.7.3 and Annex B as public summaries state them; details not confirmed
are marked [unverified] and kept as constants):

* keys on secp521r1 with ECDSA, signatures ecdsa-with-SHA512 ([V2G20-2674]; [V2G20-2675]: 521-bit ECC keys;
  Table 8 signature algorithm ecdsa_secp521r1_sha512); and, as the standard's alternative ([V2G20-2319],
  Table 8 ed448), a twin hierarchy with Ed448 keys and signatures (OpenSSL 3.0 signs and verifies Ed448
  certificates and TLS 1.3 CertificateVerify);
* CA certificates as in the ISO 15118-2 hierarchy (:mod:`harness.pki.v2g`): critical basicConstraints with
  path length 1 (Sub-CA 1) and 0 (Sub-CA 2), critical keyUsage keyCertSign + cRLSign;
* the SECC certificate: end entity, keyUsage digitalSignature + keyAgreement (an Ed448 leaf, which cannot
  agree keys: digitalSignature only) [unverified], subject commonName the EVSE ID, domainComponent ``CPO``
  (ISO 15118-20 Table B.5 as EVerest's CSR code applies it);
* the vehicle certificate ([V2G20-2339]: the EVCC holds one; it authenticates the EV in the TLS handshake,
  since [V2G20-2400] has the SECC always send a CertificateRequest): end entity under the OEM root
  ([V2G20-2331]), commonName the vehicle's identity (its EVCCID/VIN), domainComponent ``OEM``
  [unverified].

:func:`init_v2g20_pki` writes, under its directory::

    v2g20-pki.json               manifest: file names, common names, trust anchors
    v2g_root.pem                 the V2G root (the EVCC verifies the SECC with it)
    oem_root.pem                 the OEM root
    secc_trust.pem               OEM root + V2G root: what the SECC verifies a vehicle certificate with
    ca/*.key.pem, ca/*.pem       CA keys and sub-CA certificates (a test lab's; never real)
    secc/{cert,key,chain}.pem    the SECC's leaf, key, and leaf + CPO Sub-CA 2 + Sub-CA 1
    vehicle/{cert,key,chain}.pem the EVCC's vehicle certificate, key, and leaf + OEM Sub-CA 2 + Sub-CA 1
    ed448/...                    the same two hierarchies on Ed448 (roots, ca/, secc_trust.pem)
    secc-ed448/, vehicle-ed448/  the SECC's and the vehicle's Ed448 leaf, key and chain
    secc-expired/...             an SECC certificate under the same sub-CA whose validity has ended
    untrusted/...                an SECC certificate under an unrelated V2G root (untrusted-ca/)
    vehicle-untrusted/...        a vehicle certificate under an unrelated OEM root (untrusted-ca/)

The last three serve negative scenarios: an EVCC must abort on the first two, an SECC on the third.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.pki.certificates import (
    Authority,
    Ed448,
    KeyType,
    issue_ca,
    issue_end_entity,
    key_pem,
    pem,
    signing_key_usage,
    write_file,
)

# ISO 15118-20 [V2G20-2674]/[V2G20-2675] and Table 8: ECDSA on secp521r1, ecdsa-with-SHA512.
V2G20_CURVE = ec.SECP521R1()
V2G20_SIGNATURE_HASH = hashes.SHA512()
# Path length constraints of the sub-CAs (Sub-CA 1 may issue Sub-CA 2, Sub-CA 2 only leaves).
SUB_CA_1_PATH_LENGTH = 1
SUB_CA_2_PATH_LENGTH = 0
# Validity periods [unverified]: inside the maxima public certificate profiles quote.
ROOT_VALIDITY = timedelta(days=10 * 365)
SUB_CA_VALIDITY = timedelta(days=4 * 365)
LEAF_VALIDITY = timedelta(days=365)
# Certificates are back-dated so that a peer whose clock lags a little still accepts them.
BACKDATE = timedelta(hours=1)
# The expired SECC certificate of the negative scenarios: valid for a month that ended a day ago.
EXPIRED_FOR = timedelta(days=1)
EXPIRED_VALIDITY = timedelta(days=30)
# domainComponent of the leaf subjects: CPO for the SECC (Table B.5), OEM for the vehicle [unverified].
SECC_DOMAIN_COMPONENT = "CPO"
VEHICLE_DOMAIN_COMPONENT = "OEM"
# The SECC certificate's commonName when none is given: "ZZ00000", an EVSE without an EVSE ID.
DEFAULT_SECC_COMMON_NAME = "ZZ00000"
# The vehicle certificate's commonName when none is given: a 17-character test VIN [unverified format].
DEFAULT_VEHICLE_COMMON_NAME = "WMIV1234567890ABC"
ORGANIZATION = "VGI conformance harness (ISO 15118-20 test PKI)"

MANIFEST_NAME = "v2g20-pki.json"
MANIFEST_VERSION = 1
V2G_ROOT_NAME = "v2g_root.pem"
OEM_ROOT_NAME = "oem_root.pem"
SECC_TRUST_NAME = "secc_trust.pem"
UNTRUSTED_CA_DIR = "untrusted-ca"
ED448_DIR = "ed448"
SECC = "secc"
SECC_EXPIRED = "secc-expired"
SECC_UNTRUSTED = "untrusted"
SECC_ED448 = "secc-ed448"
VEHICLE = "vehicle"
VEHICLE_UNTRUSTED = "vehicle-untrusted"
VEHICLE_ED448 = "vehicle-ed448"
SECC_ENTRIES = (SECC, SECC_EXPIRED, SECC_UNTRUSTED, SECC_ED448)
VEHICLE_ENTRIES = (VEHICLE, VEHICLE_UNTRUSTED, VEHICLE_ED448)
ENTRIES = (*SECC_ENTRIES, *VEHICLE_ENTRIES)


@dataclass(frozen=True, slots=True)
class _Algorithm:
    """The key type and signature of one -20 hierarchy, and the key usage its leaves get."""

    name: str
    key_type: KeyType
    signature_hash: hashes.HashAlgorithm | None
    leaf_usage: x509.KeyUsage


# Table 8: ecdsa_secp521r1_sha512 (the SECC/vehicle key may also agree keys, as in ISO 15118-2), and ed448,
# a signature-only key (EdDSA keys cannot agree keys: digitalSignature alone).
SECP521R1 = _Algorithm("ecdsa_secp521r1_sha512", V2G20_CURVE, V2G20_SIGNATURE_HASH, signing_key_usage())
ED448 = _Algorithm(
    "ed448",
    Ed448(),
    None,
    x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    ),
)


class V2g20PkiError(RuntimeError):
    """The directory holds no usable ISO 15118-20 PKI (or already holds one and ``force`` was not given)."""


@dataclass(frozen=True, slots=True)
class V2g20Credentials:
    """One TLS endpoint's credentials: its chain (leaf + sub-CAs) and key, and the roots it verifies its
    peer with (the SECC: OEM + V2G roots; the EVCC: the V2G root)."""

    chain_path: Path
    key_path: Path
    trust_anchor_path: Path
    common_name: str


@dataclass(frozen=True, slots=True)
class _Hierarchy:
    root: Authority
    sub1: Authority
    sub2: Authority


def _name(common_name: str, domain: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, domain),
        ]
    )


def _hierarchy(
    directory: Path, label: str, kind: str, algorithm: _Algorithm, not_before: datetime
) -> _Hierarchy:
    """``kind`` ("V2G" or "OEM") root -> Sub-CA 1 -> Sub-CA 2, written under ``directory``."""
    sub = "cpo" if kind == "V2G" else "oem"
    root_file = V2G_ROOT_NAME if kind == "V2G" else OEM_ROOT_NAME

    def ca(
        common_name: str, issuer: Authority | None, path_length: int | None, valid: timedelta
    ) -> Authority:
        return issue_ca(
            _name(common_name, kind),
            issuer,
            path_length,
            not_before,
            not_before + valid,
            algorithm.key_type,
            signature_hash=algorithm.signature_hash,
        )

    root = ca(f"{label} {kind} Root CA", None, None, ROOT_VALIDITY)
    sub1 = ca(f"{label} {sub.upper()} Sub-CA 1", root, SUB_CA_1_PATH_LENGTH, SUB_CA_VALIDITY)
    sub2 = ca(f"{label} {sub.upper()} Sub-CA 2", sub1, SUB_CA_2_PATH_LENGTH, SUB_CA_VALIDITY)
    write_file(directory / root_file, pem(root.certificate))
    names = ((f"{kind.lower()}_root", root), (f"{sub}_sub_ca_1", sub1), (f"{sub}_sub_ca_2", sub2))
    for name, authority in names:
        if authority is not root:
            write_file(directory / "ca" / f"{name}.pem", pem(authority.certificate))
        write_file(directory / "ca" / f"{name}.key.pem", key_pem(authority.key), secret=True)
    return _Hierarchy(root, sub1, sub2)


def _pair(
    directory: Path, label: str, algorithm: _Algorithm, not_before: datetime
) -> tuple[_Hierarchy, _Hierarchy]:
    """The V2G (CPO) and OEM hierarchies of one algorithm under ``directory``, with the SECC's trust file."""
    v2g = _hierarchy(directory, label, "V2G", algorithm, not_before)
    oem = _hierarchy(directory, label, "OEM", algorithm, not_before)
    write_file(directory / SECC_TRUST_NAME, pem(oem.root.certificate) + pem(v2g.root.certificate))
    return v2g, oem


def _write_entry(
    root_dir: Path,
    entry: str,
    common_name: str,
    domain: str,
    under: _Hierarchy,
    algorithm: _Algorithm,
    validity: tuple[datetime, datetime],
    trust: Path,
) -> dict[str, str]:
    """Issue ``entry``'s leaf under ``under``'s Sub-CA 2, write its cert, key and chain; its manifest row."""
    leaf = issue_end_entity(
        _name(common_name, domain),
        under.sub2,
        *validity,
        algorithm.key_type,
        algorithm.leaf_usage,
        signature_hash=algorithm.signature_hash,
    )
    folder = root_dir / entry
    write_file(folder / "cert.pem", pem(leaf.certificate))
    write_file(folder / "key.pem", key_pem(leaf.key), secret=True)
    # RFC 8446 4.4.2: the sender's certificate first, then each one certifying the one before it; the
    # root itself is not sent ([V2G20-2399]).
    chain = pem(leaf.certificate) + pem(under.sub2.certificate) + pem(under.sub1.certificate)
    write_file(folder / "chain.pem", chain)
    return {
        "cert": f"{entry}/cert.pem",
        "key": f"{entry}/key.pem",
        "chain": f"{entry}/chain.pem",
        "trust": trust.relative_to(root_dir).as_posix(),
        "common_name": common_name,
        "signature_algorithm": algorithm.name,
    }


def init_v2g20_pki(
    directory: str | os.PathLike[str],
    *,
    secc_common_name: str = DEFAULT_SECC_COMMON_NAME,
    vehicle_common_name: str = DEFAULT_VEHICLE_COMMON_NAME,
    force: bool = False,
    now: datetime | None = None,
) -> dict[str, object]:
    """Create the ISO 15118-20 test PKI in ``directory``; returns its manifest (also in v2g20-pki.json)."""
    root_dir = Path(directory)
    if (root_dir / MANIFEST_NAME).exists() and not force:
        raise V2g20PkiError(
            f"{root_dir} already holds an ISO 15118-20 PKI ({MANIFEST_NAME}); replace it with `--force`"
        )
    if not secc_common_name.strip() or not vehicle_common_name.strip():
        raise ValueError("the SECC and vehicle certificates need a commonName (EVSE ID, vehicle identity)")
    current = (now or datetime.now(UTC)).replace(microsecond=0)
    not_before = current - BACKDATE
    valid = (not_before, not_before + LEAF_VALIDITY)
    expired = (current - EXPIRED_FOR - EXPIRED_VALIDITY, current - EXPIRED_FOR)
    root_dir.mkdir(parents=True, exist_ok=True)
    v2g, oem = _pair(root_dir, "VGI lab", SECP521R1, not_before)
    foreign_v2g, foreign_oem = _pair(root_dir / UNTRUSTED_CA_DIR, "Untrusted", SECP521R1, not_before)
    ed_v2g, ed_oem = _pair(root_dir / ED448_DIR, "VGI lab Ed448", ED448, not_before)
    # The SECC verifies a vehicle with the OEM and V2G roots ([V2G20-2331]), the EVCC an SECC with the V2G
    # root.
    secc_trust, evcc_trust = root_dir / SECC_TRUST_NAME, root_dir / V2G_ROOT_NAME
    ed_secc_trust, ed_evcc_trust = (
        root_dir / ED448_DIR / SECC_TRUST_NAME,
        root_dir / ED448_DIR / V2G_ROOT_NAME,
    )
    secc, vehicle = (secc_common_name, SECC_DOMAIN_COMPONENT), (vehicle_common_name, VEHICLE_DOMAIN_COMPONENT)
    rows = {
        SECC: (*secc, v2g, SECP521R1, valid, secc_trust),
        SECC_EXPIRED: (*secc, v2g, SECP521R1, expired, secc_trust),
        SECC_UNTRUSTED: (*secc, foreign_v2g, SECP521R1, valid, secc_trust),
        SECC_ED448: (*secc, ed_v2g, ED448, valid, ed_secc_trust),
        VEHICLE: (*vehicle, oem, SECP521R1, valid, evcc_trust),
        VEHICLE_UNTRUSTED: (*vehicle, foreign_oem, SECP521R1, valid, evcc_trust),
        VEHICLE_ED448: (*vehicle, ed_oem, ED448, valid, ed_evcc_trust),
    }
    entries = {entry: _write_entry(root_dir, entry, *rows[entry]) for entry in ENTRIES}
    manifest: dict[str, object] = {
        "version": MANIFEST_VERSION,
        "profile": "ISO 15118-20 (test): secp521r1 with ecdsa-with-SHA512; Ed448 twin",
        "v2g_root": V2G_ROOT_NAME,
        "oem_root": OEM_ROOT_NAME,
        "created": not_before.isoformat(),
        "entries": entries,
    }
    write_file(root_dir / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    return manifest


def load_v2g20_credentials(directory: str | os.PathLike[str], entry: str = SECC) -> V2g20Credentials:
    """The credentials ``entry`` (one of :data:`ENTRIES`) of the PKI in ``directory``, with the roots its
    side verifies the peer with (an SECC entry: the OEM and V2G roots; a vehicle entry: the V2G root) of the
    same algorithm; V2g20PkiError naming what is missing."""
    root_dir = Path(directory)
    try:
        manifest = json.loads((root_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
        files = manifest["entries"][entry]
        paths = {key: root_dir / str(files[key]) for key in ("chain", "key", "trust")}
        common_name = str(files["common_name"])
    except FileNotFoundError:
        raise V2g20PkiError(
            f"no ISO 15118-20 PKI at {root_dir}; run `vgi pki init --v2g20 {root_dir}`"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise V2g20PkiError(f"{root_dir / MANIFEST_NAME} has no usable entry {entry!r}: {exc}") from exc
    for path in paths.values():
        if not path.is_file():
            raise V2g20PkiError(f"{path} is missing from the ISO 15118-20 PKI at {root_dir}")
    return V2g20Credentials(paths["chain"], paths["key"], paths["trust"], common_name)
