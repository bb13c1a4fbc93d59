"""The IEEE 2030.5 certificate profile, as far as public material describes it.

Facts used here (IEEE 2030.5-2018 clause 6.11, as summarised in public implementations and
guides): every certificate is X.509 v3 with an ECDSA P-256 key signed with ecdsa-with-SHA256; the
hierarchy is SERCA (root) -> MCA (manufacturer CA) -> MICA (manufacturer issuing CA) -> device;
device certificates have an empty subject, a critical subjectAltName holding one otherName of type
hardwareModuleName (RFC 4108), a critical keyUsage of digitalSignature + keyAgreement, critical
certificatePolicies from the IEEE 2030.5 arc, and an indefinite notAfter of 99991231235959Z
(RFC 5280 clause 4.1.2.5: "no well-defined expiration date"); they carry no DNS names, so peers are
identified by SERCA chain + LFDI, never by host name.

Marked [unverified] below: details we could not confirm from public text; they are constants so a
lab with the standard can correct them in one place.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ObjectIdentifier

# IEEE 2030.5 clause 6.11: ECC keys on secp256r1 (NIST P-256), the curve the TLS suite's ECDHE uses.
CURVE = ec.SECP256R1()

# RFC 5280 clause 4.1.2.5 / IEEE 2030.5 clause 6.11.8: certificates that do not expire carry
# notAfter = 99991231235959Z (GeneralizedTime).
INDEFINITE_NOT_AFTER = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)

# IEEE 2030.5 clause 6.11.7.2 device type policy OIDs (arc 1.3.6.1.4.1.40732.1).
POLICY_DEVICE_GENERIC = ObjectIdentifier("1.3.6.1.4.1.40732.1.1")
POLICY_DEVICE_MOBILE = ObjectIdentifier("1.3.6.1.4.1.40732.1.2")
POLICY_DEVICE_POST_MANUFACTURE = ObjectIdentifier("1.3.6.1.4.1.40732.1.3")
# IEEE 2030.5 clause 6.11.7.3 policy OIDs (arc 1.3.6.1.4.1.40732.2): test certificates.  Every
# certificate this harness makes is a test certificate and says so.
POLICY_TEST_CERTIFICATE = ObjectIdentifier("1.3.6.1.4.1.40732.2.1")

# RFC 4108 clause 5: id-on-hardwareModuleName otherName type.
OID_HARDWARE_MODULE_NAME = ObjectIdentifier("1.3.6.1.5.5.7.8.4")
# hwType of the hardwareModuleName: manufacturers use an OID under their own IANA enterprise number.
# The harness has none, so it uses 32473, the enterprise number IANA reserves for documentation
# (RFC 5612).
HARDWARE_TYPE_OID = ObjectIdentifier("1.3.6.1.4.1.32473.2030.5")

# Path length constraints down the hierarchy [unverified]: MCA may issue MICAs, MICAs only devices.
MCA_PATH_LENGTH = 1
MICA_PATH_LENGTH = 0

# The roles the VGI lab needs a device certificate for (shared/REFERENCE.md section 1 actors).
ROLES: tuple[str, ...] = ("pfe-server", "bms", "ev", "evse", "dc-charger", "telematics", "meter")
# A device certificate from a different SERCA, for the "untrusted chain" negative tests.
UNTRUSTED_ROLE = "untrusted"
# Mobile device policy for the roles that move between sites; the rest are generic devices.
MOBILE_ROLES = frozenset({"ev"})


def device_policies(role: str) -> tuple[ObjectIdentifier, ...]:
    """certificatePolicies of a device certificate for ``role``."""
    device_type = POLICY_DEVICE_MOBILE if role in MOBILE_ROLES else POLICY_DEVICE_GENERIC
    return (device_type, POLICY_TEST_CERTIFICATE)
