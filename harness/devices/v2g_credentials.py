"""The ISO 15118-2 test PKI as the reference devices and tester roles find it: PIXIT certificates ``v2g_pki``
(a directory made by ``vgi pki init --v2g``, resolved against the lab file's folder by the edge), else a
per-user cache made once; and the TLS contexts built from it (harness.transport.v2g_tls)."""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path

from harness.devices.settings import DeviceSettings
from harness.pki.v2g import MANIFEST_NAME, SECC, V2gCredentials, init_v2g_pki, load_v2g_credentials
from harness.transport.v2g_tls import evcc_context, keylog_from_environment, secc_context

# PIXIT certificates key naming a lab's own ISO 15118-2 PKI directory.
PIXIT_V2G_PKI_KEY = "v2g_pki"


def v2g_pki_directory(settings: DeviceSettings | None = None) -> Path:
    if settings is not None and PIXIT_V2G_PKI_KEY in settings.certificates:
        return settings.certificates[PIXIT_V2G_PKI_KEY]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "vgi" / "v2g-pki"


def ensure_v2g_pki(directory: Path) -> Path:
    """Create the ISO 15118-2 test PKI in ``directory`` unless it exists; safe against concurrent creators."""
    return ensure_pki(directory, MANIFEST_NAME, init_v2g_pki)


def ensure_pki(directory: Path, manifest_name: str, init: Callable[[Path], object]) -> Path:
    """Create a test PKI with ``init`` in ``directory`` unless its manifest is there: made aside and renamed
    into place, so concurrent creators never see half a PKI (the loser's is dropped)."""
    if (directory / manifest_name).exists():
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        init(scratch)
        try:
            scratch.rename(directory)
        except OSError:
            pass  # another process won the race; its PKI is as good as ours
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return directory


def secc_credentials(settings: DeviceSettings | None = None, entry: str = SECC) -> V2gCredentials:
    """The SECC credentials ``entry`` (``secc``, ``secc-expired``, ``untrusted``) of the lab's V2G PKI."""
    return load_v2g_credentials(ensure_v2g_pki(v2g_pki_directory(settings)), entry)


def secc_tls(
    settings: DeviceSettings | None = None, keylog: Path | str | None = None, entry: str = SECC
) -> ssl.SSLContext:
    """An SECC's server context with the lab's credentials ``entry``; key log ``keylog`` (else
    ``SSLKEYLOGFILE``, else none)."""
    return secc_context(secc_credentials(settings, entry), keylog_path=keylog or keylog_from_environment())


def evcc_tls(settings: DeviceSettings | None = None, keylog: Path | str | None = None) -> ssl.SSLContext:
    """An EVCC's client context trusting the lab's V2G root; key log as :func:`secc_tls`."""
    anchor = secc_credentials(settings).trust_anchor_path
    return evcc_context(anchor, keylog_path=keylog or keylog_from_environment())
