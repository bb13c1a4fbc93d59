"""Check builders for ISO 15118-20 over TLS 1.3 (7.7.3.4), judged from the capture alone: the handshake
facts capture/tls_http.py reads with the capture's key log (the ServerHello's version, suite and key-share
group; the CertificateRequest, each side's Certificate and CertificateVerify, encrypted in TLS 1.3).

:func:`iso20_tls_checks` gives one check per rule, each citing its requirement (requirements/
iso15118_20_tls.yaml, which names the [V2G20-nnnn] ids); a step registers them with
``for c in iso20_tls_checks(...): run.expect(c.check, c.description, c.requirement)``.  The sides are
told apart by the SECC's TLS port (the one its SECCDiscoveryRes announced): the server's messages come
from it, the EVCC's go to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from harness.codec.v2g.tls20 import (
    ISO20_CIPHER_IDS,
    ISO20_GROUP_IDS,
    ISO20_SIGNATURE_ALGORITHM_IDS,
    ISO20_TLS_VERSION_WIRE,
)
from harness.verdict.checks.common import Check, Fields, Present, Selector, ne, one_of, select
from harness.verdict.checks.requirements import requirement
from harness.verdict.verdicts import Verdict

TLS: Final = "TLS"
INCONCLUSIVE: Final = Verdict.INCONCLUSIVE
# The ServerHello's version field as the timeline writes it.
TLS_1_3: Final = f"0x{ISO20_TLS_VERSION_WIRE:04x}"

ISO20_TLS_01 = requirement("ISO20-TLS-01")  # TLS 1.3 [V2G20-1264]
ISO20_TLS_02 = requirement("ISO20-TLS-02")  # Table 6 suite [V2G20-2458]
ISO20_TLS_03 = requirement("ISO20-TLS-03")  # Table 7 group [V2G20-2460]
ISO20_TLS_04 = requirement("ISO20-TLS-04")  # the SECC's CertificateRequest [V2G20-2400]
ISO20_TLS_05 = requirement("ISO20-TLS-05")  # the EVCC's certificate chain [V2G20-2339]
ISO20_TLS_06 = requirement("ISO20-TLS-06")  # Table 8 CertificateVerify [V2G20-1667]


@dataclass(frozen=True, slots=True)
class NamedCheck:
    """A check with what a report says of it and the requirement it judges."""

    check: Check
    description: str
    requirement: str


def _hex(values: tuple[int, ...]) -> str:
    return " or ".join(f"0x{v:04X}" for v in values)


def from_secc(message: str, secc: str, port: int) -> Selector:
    """``message`` of the TLS server, the SECC (``secc``: tester, dut or an address), from its port."""
    return select(TLS, message, sender=secc, where={"sport": port})


def from_evcc(message: str, evcc: str, port: int) -> Selector:
    """``message`` of the TLS client, the EVCC, to the SECC's port."""
    return select(TLS, message, sender=evcc, where={"dport": port})


def iso20_tls_checks(
    secc: str, evcc: str, port: int, *, mutual: bool = True, signatures: bool = True
) -> tuple[NamedCheck, ...]:
    """The checks of a -20 TLS session on the connection to the SECC's ``port``: TLS 1.3, a Table 6 suite,
    a Table 7 group (each on the ServerHello), the SECC's CertificateRequest, the EVCC's non-empty
    Certificate and its CertificateVerify (``mutual``), the SECC's CertificateVerify and (``mutual``) the
    EVCC's with a Table 8 scheme (``signatures``).  No ServerHello, or (when ``mutual``) no
    CertificateRequest or EVCC certificate, is a FAIL: a -20 session without them is not what 7.7.3.4
    asks for."""
    hello = from_secc("ServerHello", secc, port)
    out = [
        NamedCheck(
            Fields(hello, {"version": TLS_1_3}, on_missing=Verdict.FAIL),
            f"ServerHello from the SECC on port {port}: TLS 1.3 ({TLS_1_3}) [V2G20-1264]",
            ISO20_TLS_01,
        ),
        NamedCheck(
            Fields(hello, {"cipher": one_of(ISO20_CIPHER_IDS)}, on_missing=Verdict.FAIL),
            f"ServerHello cipher suite in Table 6 ({_hex(ISO20_CIPHER_IDS)}) [V2G20-2458]",
            ISO20_TLS_02,
        ),
        NamedCheck(
            Fields(hello, {"group": one_of(ISO20_GROUP_IDS)}, on_missing=Verdict.FAIL),
            f"ServerHello key-share group in Table 7 ({_hex(ISO20_GROUP_IDS)}) [V2G20-2460]",
            ISO20_TLS_03,
        ),
    ]
    if mutual:
        out += [
            NamedCheck(
                Present(from_secc("CertificateRequest", secc, port), 1, None, Verdict.FAIL),
                f"a CertificateRequest from the SECC on port {port} (mutual authentication) [V2G20-2400]",
                ISO20_TLS_04,
            ),
            NamedCheck(
                Present(
                    from_evcc("Certificate", evcc, port).matching(certificates=ne(0)), 1, None, Verdict.FAIL
                ),
                f"a non-empty Certificate (its vehicle chain) from the EVCC to port {port} [V2G20-2339]",
                ISO20_TLS_05,
            ),
            NamedCheck(
                Present(from_evcc("CertificateVerify", evcc, port), 1, None, Verdict.FAIL),
                f"a CertificateVerify from the EVCC to port {port} (it holds its key) [V2G20-2339]",
                ISO20_TLS_05,
            ),
        ]
    if signatures:
        algorithms = {"signature_algorithm": one_of(ISO20_SIGNATURE_ALGORITHM_IDS)}
        table8 = f"in Table 8 ({_hex(ISO20_SIGNATURE_ALGORITHM_IDS)}) [V2G20-1667]"
        out.append(
            NamedCheck(
                Fields(from_secc("CertificateVerify", secc, port), algorithms, on_missing=Verdict.FAIL),
                f"the SECC's CertificateVerify {table8}",
                ISO20_TLS_06,
            )
        )
        if mutual:
            # The EVCC signs only when it sent a certificate; that it did not is ISO20-TLS-05's FAIL.
            out.append(
                NamedCheck(
                    Fields(
                        from_evcc("CertificateVerify", evcc, port),
                        algorithms,
                        on_missing=Verdict.INCONCLUSIVE,
                    ),
                    f"the EVCC's CertificateVerify {table8}",
                    ISO20_TLS_06,
                )
            )
    return tuple(out)
