"""The ISO 15118-20 test PKI as the reference devices and tester roles find it: PIXIT certificates
``v2g20_pki`` (a directory made by ``vgi pki init --v2g20``, resolved against the lab file's folder by the
edge), else a per-user cache beside the ISO 15118-2 one, made once; and the TLS 1.3 contexts built from it
(harness.transport.v2g20_tls), with the PKI's negative entries for tester scenarios.

Which entry (harness.pki.v2g20) serves what:

* ``secc`` / ``vehicle``: the SECC's chain under the V2G root, the EVCC's vehicle chain under the OEM root
  (mutual TLS 1.3, secp521r1); ``secc-ed448`` / ``vehicle-ed448``: the same on Ed448, each side trusting
  the Ed448 roots (pair them with each other);
* ``secc-expired`` (an SECC leaf whose validity has ended) and ``untrusted`` (an SECC chain under a foreign
  V2G root): a tester SECC the EVCC under test must refuse;
* ``vehicle-untrusted`` (a vehicle chain under a foreign OEM root), or a tester EVCC that presents no
  certificate (``present_certificate=False``): what an SECC under test must refuse ([V2G20-2400]).
"""

from __future__ import annotations

import ssl
from pathlib import Path

from harness.devices.settings import DeviceSettings
from harness.devices.v2g_credentials import ensure_pki, v2g_pki_directory
from harness.pki.v2g20 import (
    MANIFEST_NAME,
    SECC,
    SECC_ENTRIES,
    VEHICLE,
    VEHICLE_ENTRIES,
    V2g20Credentials,
    init_v2g20_pki,
    load_v2g20_credentials,
)
from harness.transport.v2g20_tls import ISO20_GROUPS, evcc_context, secc_context
from harness.transport.v2g_tls import keylog_from_environment

# PIXIT certificates key naming a lab's own ISO 15118-20 PKI directory.
PIXIT_V2G20_PKI_KEY = "v2g20_pki"
# The per-user cache's directory name (beside the ISO 15118-2 PKI's).
CACHE_NAME = "v2g20-pki"


def v2g20_pki_directory(settings: DeviceSettings | None = None) -> Path:
    if settings is not None and PIXIT_V2G20_PKI_KEY in settings.certificates:
        return settings.certificates[PIXIT_V2G20_PKI_KEY]
    return v2g_pki_directory(None).with_name(CACHE_NAME)


def ensure_v2g20_pki(directory: Path) -> Path:
    """Create the -20 test PKI in ``directory`` unless it exists; safe against concurrent creators."""
    return ensure_pki(directory, MANIFEST_NAME, init_v2g20_pki)


def v2g20_credentials(settings: DeviceSettings | None = None, entry: str = SECC) -> V2g20Credentials:
    """The credentials ``entry`` (harness.pki.v2g20.ENTRIES) of the lab's -20 PKI, made once if needed."""
    return load_v2g20_credentials(ensure_v2g20_pki(v2g20_pki_directory(settings)), entry)


def secc_tls20(
    settings: DeviceSettings | None = None,
    keylog: Path | str | None = None,
    entry: str = SECC,
    *,
    require_vehicle_certificate: bool = True,
    group: str = ISO20_GROUPS[0],
) -> ssl.SSLContext:
    """An SECC's TLS 1.3 server context with the lab's credentials ``entry`` (``secc``, ``secc-expired``,
    ``untrusted``, ``secc-ed448``): it requests the EVCC's certificate and verifies it against the OEM and
    V2G roots (``require_vehicle_certificate=False``: an EVCC without one is let through, for a tester
    that observes an EVCC under test); key log ``keylog`` (else ``SSLKEYLOGFILE``, else none)."""
    if entry not in SECC_ENTRIES:
        raise ValueError(f"{entry!r} is no SECC entry of the -20 PKI; known: {', '.join(SECC_ENTRIES)}")
    return secc_context(
        v2g20_credentials(settings, entry),
        keylog_path=keylog or keylog_from_environment(),
        require_vehicle_certificate=require_vehicle_certificate,
        group=group,
    )


def evcc_tls20(
    settings: DeviceSettings | None = None,
    keylog: Path | str | None = None,
    entry: str = VEHICLE,
    *,
    present_certificate: bool = True,
    group: str = ISO20_GROUPS[0],
) -> ssl.SSLContext:
    """An EVCC's TLS 1.3 client context with the lab's vehicle credentials ``entry`` (``vehicle``,
    ``vehicle-untrusted``, ``vehicle-ed448``), trusting the V2G root of the same algorithm;
    ``present_certificate=False``: it answers a CertificateRequest with no certificate.  Key log as
    :func:`secc_tls20`."""
    if entry not in VEHICLE_ENTRIES:
        raise ValueError(f"{entry!r} is no vehicle entry of the -20 PKI; known: {', '.join(VEHICLE_ENTRIES)}")
    return evcc_context(
        v2g20_credentials(settings, entry),
        keylog_path=keylog or keylog_from_environment(),
        present_certificate=present_certificate,
        group=group,
    )
