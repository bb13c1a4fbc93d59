"""IEEE 2030.5 device identities derived from certificates: LFDI and SFDI.

IEEE 2030.5-2018 clause 6.3.4: the long-form device identifier (LFDI) is the certificate
fingerprint, SHA-256 over the DER certificate, truncated to its leftmost 160 bits (40 hex digits).
The short-form device identifier (SFDI) is the leftmost 36 bits of the fingerprint as a decimal
number, followed by one check digit that makes the sum of all the decimal digits a multiple of 10.

Pure functions over bytes: no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import re

# IEEE 2030.5 clause 6.3.4: LFDI = leftmost 160 bits of the SHA-256 certificate fingerprint.
LFDI_BITS = 160
LFDI_HEX_DIGITS = LFDI_BITS // 4
# IEEE 2030.5 clause 6.3.4: SFDI = leftmost 36 bits of the fingerprint, plus a check digit.
SFDI_SOURCE_BITS = 36
SFDI_SOURCE_HEX_DIGITS = SFDI_SOURCE_BITS // 4
# 36 bits are at most 11 decimal digits; with the check digit an SFDI has at most 12.
SFDI_MAX = (2**SFDI_SOURCE_BITS - 1) * 10 + 9

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\s*(.*?)\s*-----END CERTIFICATE-----", re.DOTALL)
_HEX = re.compile(r"[0-9A-Fa-f]+")


def lfdi_from_der(der_certificate: bytes) -> str:
    """The LFDI of a DER certificate, as 40 upper-case hex digits (the form 2030.5 examples use)."""
    if not der_certificate:
        raise ValueError("empty certificate")
    return hashlib.sha256(der_certificate).hexdigest()[:LFDI_HEX_DIGITS].upper()


def der_from_pem(pem: bytes) -> bytes:
    """The DER bytes of the first certificate in a PEM text."""
    match = _PEM_CERT.search(pem)
    if match is None:
        raise ValueError("no PEM certificate found")
    return base64.b64decode(b"".join(match.group(1).split()), validate=True)


def lfdi_from_pem(pem: bytes) -> str:
    """The LFDI of the first certificate in a PEM text."""
    return lfdi_from_der(der_from_pem(pem))


def sfdi_check_digit(value: int) -> int:
    """The digit that, appended to ``value``, makes its decimal digit sum a multiple of 10."""
    if value < 0:
        raise ValueError("SFDI source must not be negative")
    digit_sum = sum(int(digit) for digit in str(value))
    return (10 - digit_sum % 10) % 10


def sfdi_from_lfdi(lfdi: str) -> int:
    """The SFDI belonging to an LFDI (or to any longer hex fingerprint)."""
    text = lfdi.strip()
    if len(text) < SFDI_SOURCE_HEX_DIGITS or not _HEX.fullmatch(text):
        raise ValueError(f"not a hex fingerprint: {lfdi!r}")
    source = int(text[:SFDI_SOURCE_HEX_DIGITS], 16)
    return source * 10 + sfdi_check_digit(source)


def sfdi_from_der(der_certificate: bytes) -> int:
    """The SFDI of a DER certificate."""
    return sfdi_from_lfdi(lfdi_from_der(der_certificate))


def is_valid_sfdi(sfdi: int) -> bool:
    """True when ``sfdi`` is in range and its check digit is right."""
    if not 0 <= sfdi <= SFDI_MAX:
        return False
    return sfdi_check_digit(sfdi // 10) == sfdi % 10


def normalise_lfdi(lfdi: str | bytes) -> str:
    """An LFDI as 40 upper-case hex digits, from hex text or the 20 raw bytes 2030.5 XML carries."""
    if isinstance(lfdi, bytes):
        if len(lfdi) != LFDI_BITS // 8:
            raise ValueError(f"an LFDI is {LFDI_BITS // 8} bytes, not {len(lfdi)}")
        return lfdi.hex().upper()
    text = lfdi.strip()
    if len(text) != LFDI_HEX_DIGITS or not _HEX.fullmatch(text):
        raise ValueError(f"an LFDI is {LFDI_HEX_DIGITS} hex digits: {lfdi!r}")
    return text.upper()
