"""The lab's ISO 15118-2 test PKI: V2G root CA -> CPO Sub-CA 1 -> CPO Sub-CA 2 -> SECC certificate.

Profile (ISO 15118-2 Annex F as far as public sources state it; details we could not confirm are marked
[unverified] and kept as constants so a lab with the standard corrects them in one place):

* every certificate X.509 v3, ECDSA on secp256r1 (NIST P-256), signed ecdsa-with-SHA256;
* the V2G root is self-signed; the two CPO sub-CAs carry basicConstraints CA (path length 1, then 0,
  critical) and keyUsage keyCertSign + cRLSign (critical), as the root does;
* the SECC certificate is an end entity (basicConstraints CA false, critical), keyUsage digitalSignature +
  keyAgreement (critical); its subject's commonName is the EVSE ID of the charger and its
  domainComponent ``CPO`` [unverified];
* the EV trusts the V2G root and presents no certificate: in ISO 15118-2 TLS the SECC does not
  authenticate the EV (the contract certificate is checked at application level, not in TLS).

:func:`init_v2g_pki` writes, under its directory::

    v2g-pki.json                 manifest: file names, the SECC's common name, validity
    v2g_root.pem                 the trust anchor the EV side loads
    ca/*.key.pem, ca/*.pem       CA keys and the two sub-CA certificates (a test lab's; never real)
    secc/{cert,key,chain}.pem    the SECC's leaf, key and leaf + Sub-CA 2 + Sub-CA 1 (what it presents)
    secc-expired/...             an SECC certificate under the same sub-CA whose validity has ended
    untrusted/...                an SECC certificate under an unrelated root (untrusted-ca/)

The last two serve the negative scenarios (an EVCC must abort on either).  This module is the ISO 15118-2
hierarchy only; the IEEE 2030.5 one is :mod:`harness.pki.hierarchy`; both use
:mod:`harness.pki.certificates`.
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
    issue_ca,
    issue_end_entity,
    key_pem,
    pem,
    signing_key_usage,
    write_file,
)

# ISO 15118-2 Annex F: ECC keys on secp256r1, signatures ecdsa-with-SHA256.
V2G_CURVE = ec.SECP256R1()
V2G_SIGNATURE_HASH = hashes.SHA256()
# Path length constraints of the CPO sub-CAs (Annex F: Sub-CA 1 may issue Sub-CA 2, Sub-CA 2 only leaves).
SUB_CA_1_PATH_LENGTH = 1
SUB_CA_2_PATH_LENGTH = 0
# Validity periods [unverified]: Annex F gives maxima per certificate type; these stay inside the ones
# public profiles quote (root decades, sub-CAs years, SECC leaf up to about two years).
ROOT_VALIDITY = timedelta(days=10 * 365)
SUB_CA_VALIDITY = timedelta(days=4 * 365)
SECC_VALIDITY = timedelta(days=365)
# Certificates are back-dated so that a peer whose clock lags a little still accepts them.
BACKDATE = timedelta(hours=1)
# The expired SECC certificate of the negative scenarios: valid for a month that ended a day ago.
EXPIRED_FOR = timedelta(days=1)
EXPIRED_VALIDITY = timedelta(days=30)
# domainComponent of the SECC certificate's subject [unverified]: Annex F names the CPO domain.
SECC_DOMAIN_COMPONENT = "CPO"
# The SECC certificate's commonName when none is given: the EVSEID the reference SECC announces in
# SessionSetupRes (ISO 15118-2 "ZZ00000": an EVSE without an EVSE ID; harness.protocol.iso15118_2.profile).
DEFAULT_SECC_COMMON_NAME = "ZZ00000"
ORGANIZATION = "VGI conformance harness (V2G test PKI)"

MANIFEST_NAME = "v2g-pki.json"
MANIFEST_VERSION = 1
ROOT_NAME = "v2g_root.pem"
UNTRUSTED_CA_DIR = "untrusted-ca"
SECC = "secc"
SECC_EXPIRED = "secc-expired"
SECC_UNTRUSTED = "untrusted"
SECC_ENTRIES = (SECC, SECC_EXPIRED, SECC_UNTRUSTED)


class V2gPkiError(RuntimeError):
    """The directory holds no usable ISO 15118-2 PKI (or already holds one and ``force`` was not given)."""


@dataclass(frozen=True, slots=True)
class V2gCredentials:
    """An SECC's TLS credentials: chain (leaf + sub-CAs), key, and the V2G root the EV side trusts."""

    chain_path: Path
    key_path: Path
    trust_anchor_path: Path
    common_name: str


def _name(common_name: str, domain: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if domain is not None:
        attributes.append(x509.NameAttribute(NameOID.DOMAIN_COMPONENT, domain))
    return x509.Name(attributes)


def _ca(
    common_name: str,
    issuer: Authority | None,
    path_length: int | None,
    not_before: datetime,
    valid: timedelta,
) -> Authority:
    subject = _name(common_name, "V2G")
    return issue_ca(subject, issuer, path_length, not_before, not_before + valid, V2G_CURVE)


def _secc_leaf(common_name: str, issuer: Authority, not_before: datetime, not_after: datetime) -> Authority:
    subject = _name(common_name, SECC_DOMAIN_COMPONENT)
    usage = signing_key_usage()
    return issue_end_entity(
        subject, issuer, not_before, not_after, V2G_CURVE, usage, signature_hash=V2G_SIGNATURE_HASH
    )


def _hierarchy(directory: Path, label: str, not_before: datetime) -> tuple[Authority, Authority]:
    """Root -> Sub-CA 1 -> Sub-CA 2 written under ``directory``; returns the two sub-CAs."""
    root = _ca(f"{label} V2G Root CA", None, None, not_before, ROOT_VALIDITY)
    sub1 = _ca(f"{label} CPO Sub-CA 1", root, SUB_CA_1_PATH_LENGTH, not_before, SUB_CA_VALIDITY)
    sub2 = _ca(f"{label} CPO Sub-CA 2", sub1, SUB_CA_2_PATH_LENGTH, not_before, SUB_CA_VALIDITY)
    write_file(directory / ROOT_NAME, pem(root.certificate))
    for name, authority in (("v2g_root", root), ("cpo_sub_ca_1", sub1), ("cpo_sub_ca_2", sub2)):
        if authority is not root:
            write_file(directory / "ca" / f"{name}.pem", pem(authority.certificate))
        write_file(directory / "ca" / f"{name}.key.pem", key_pem(authority.key), secret=True)
    return sub1, sub2


def _write_secc(
    directory: Path, entry: str, leaf: Authority, sub1: Authority, sub2: Authority
) -> dict[str, str]:
    folder = directory / entry
    write_file(folder / "cert.pem", pem(leaf.certificate))
    write_file(folder / "key.pem", key_pem(leaf.key), secret=True)
    # ISO 15118-2 / RFC 5246 7.4.2: the server sends its leaf first, then each certificate that certifies
    # the one before it (the root, which the EV has, is left out).
    write_file(folder / "chain.pem", pem(leaf.certificate) + pem(sub2.certificate) + pem(sub1.certificate))
    return {"cert": f"{entry}/cert.pem", "key": f"{entry}/key.pem", "chain": f"{entry}/chain.pem"}


def init_v2g_pki(
    directory: str | os.PathLike[str],
    *,
    secc_common_name: str = DEFAULT_SECC_COMMON_NAME,
    force: bool = False,
    now: datetime | None = None,
) -> dict[str, object]:
    """Create the ISO 15118-2 test PKI in ``directory``; returns its manifest (also in v2g-pki.json)."""
    root = Path(directory)
    if (root / MANIFEST_NAME).exists() and not force:
        raise V2gPkiError(
            f"{root} already holds an ISO 15118-2 PKI ({MANIFEST_NAME}); replace it with `--force`"
        )
    if not secc_common_name.strip():
        raise ValueError("the SECC certificate needs a commonName (the EVSE ID)")
    current = (now or datetime.now(UTC)).replace(microsecond=0)
    not_before = current - BACKDATE
    root.mkdir(parents=True, exist_ok=True)
    sub1, sub2 = _hierarchy(root, "VGI lab", not_before)
    entries = {
        SECC: _write_secc(
            root, SECC, _secc_leaf(secc_common_name, sub2, not_before, not_before + SECC_VALIDITY), sub1, sub2
        ),
        SECC_EXPIRED: _write_secc(
            root,
            SECC_EXPIRED,
            _secc_leaf(
                secc_common_name, sub2, current - EXPIRED_FOR - EXPIRED_VALIDITY, current - EXPIRED_FOR
            ),
            sub1,
            sub2,
        ),
    }
    foreign = root / UNTRUSTED_CA_DIR
    foreign_sub1, foreign_sub2 = _hierarchy(foreign, "Untrusted", not_before)
    leaf = _secc_leaf(secc_common_name, foreign_sub2, not_before, not_before + SECC_VALIDITY)
    entries[SECC_UNTRUSTED] = _write_secc(root, SECC_UNTRUSTED, leaf, foreign_sub1, foreign_sub2)
    manifest: dict[str, object] = {
        "version": MANIFEST_VERSION,
        "profile": "ISO 15118-2 Annex F (test)",
        "trust_anchor": ROOT_NAME,
        "secc_common_name": secc_common_name,
        "created": not_before.isoformat(),
        "secc": entries,
    }
    write_file(root / MANIFEST_NAME, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    return manifest


def load_v2g_credentials(directory: str | os.PathLike[str], entry: str = SECC) -> V2gCredentials:
    """The SECC credentials ``entry`` (``secc``, ``secc-expired`` or ``untrusted``) of the PKI in
    ``directory``, with the lab's V2G root as trust anchor; V2gPkiError naming what is missing."""
    root = Path(directory)
    try:
        manifest = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
        files = manifest["secc"][entry]
        paths = {key: root / str(files[key]) for key in ("chain", "key")}
        anchor = root / str(manifest["trust_anchor"])
        common_name = str(manifest["secc_common_name"])
    except FileNotFoundError:
        raise V2gPkiError(f"no ISO 15118-2 PKI at {root}; run `vgi pki init --v2g {root}`") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise V2gPkiError(f"{root / MANIFEST_NAME} has no usable entry {entry!r}: {exc}") from exc
    for path in (*paths.values(), anchor):
        if not path.is_file():
            raise V2gPkiError(f"{path} is missing from the ISO 15118-2 PKI at {root}")
    return V2gCredentials(paths["chain"], paths["key"], anchor, common_name)
