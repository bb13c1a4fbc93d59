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
