"""The lab's IEEE 2030.5 test PKI: certificate hierarchy, device identities (LFDI/SFDI), loading.

``identity`` is pure (no third-party imports); ``hierarchy`` and ``store`` use ``cryptography``.
"""

from harness.pki.identity import lfdi_from_der, lfdi_from_pem, sfdi_from_lfdi

__all__ = ["lfdi_from_der", "lfdi_from_pem", "sfdi_from_lfdi"]
