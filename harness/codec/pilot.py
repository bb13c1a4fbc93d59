"""Control pilot on the wire: the simulated pilot's record frames and the STP_CPSTATE.IND vendor MME.

Bytes in, fields out; no I/O, no clocks.  The pilot states and EVSE outputs are defined here because
they are what the records carry; the J1772 / IEC 61851-1 facts about them (voltage ranges, duty cycle
meanings, timers) and the EVSE pilot logic are in :mod:`harness.protocol.pilot`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from harness.codec.homeplug import ETHERTYPE_HOMEPLUG_AV

# --------------------------------------------------------------------------------------------------
# What is on the pilot line
# --------------------------------------------------------------------------------------------------


class PilotState(Enum):
    """SAE J1772 / IEC 61851-1 Table A.3 pilot states as the EVSE measures them."""

    A = "A"  # not connected
    B = "B"  # connected, not ready
    C = "C"  # charging
    D = "D"  # charging with ventilation
    E = "E"  # error: pilot shorted to PE, or the EVSE pulls it to 0 V
    F = "F"  # EVSE not available (-12 V)


class PilotOutput(Enum):
    """What the EVSE drives onto the pilot."""

    X1 = "+12 V, oscillator off"
    X2 = "PWM"
    STATE_E = "0 V (state E)"
    STATE_F = "-12 V (state F)"


def line_state(output: PilotOutput, vehicle: PilotState) -> PilotState:
    """The state the pilot line is in: the EVSE's E/F override the vehicle's resistor."""
    if output is PilotOutput.STATE_E:
        return PilotState.E
    if output is PilotOutput.STATE_F:
        return PilotState.F
    return vehicle


def iec_state_name(state: PilotState, pwm: bool) -> str:
    """IEC 61851-1 naming: B1/C1 without PWM (oscillator off), B2/C2 with PWM."""
    if state in (PilotState.A, PilotState.B, PilotState.C, PilotState.D):
        return f"{state.value}{2 if pwm else 1}"
    return state.value


# --------------------------------------------------------------------------------------------------
# Pilot records on the captured link (simulated pilot)
# --------------------------------------------------------------------------------------------------

# The simulated pilot of the embedded lab puts every change of the pilot line on the captured link as a
# small Ethernet frame, so pilot verdicts come from the capture like every other verdict.  Format
# (ethertype 0x88B5, IEEE 802 local experimental 1; padded to 60 bytes; integers big endian):
#
#   dst ff:ff:ff:ff:ff:ff, src = the sender's MAC
#   "VGIP" | version 1 (u8) | side (u8: 1 EVSE, 2 EV) | flags (u8: bit 0 hello) | seq (u16)
#   | EVSE output (u8: 0 X1, 1 X2 PWM, 2 state E, 3 state F) | duty in 0.1 % (u16, 0xFFFF none)
#   | vehicle state the EV presents (ASCII A-D) | line state (ASCII A-F) | energized (u8: 0, 1, 0xFF ?)
#
# Each side sends its own part when it changes and repeats the last known part of the other side, so
# one record shows the whole line.  A "hello" asks the other side to send its part (at start-up).
ETHERTYPE_PILOT_RECORD = 0x88B5
PILOT_RECORD_MAGIC = b"VGIP"
PILOT_RECORD_VERSION = 1
PILOT_SIDE_EVSE, PILOT_SIDE_EV = 1, 2
PILOT_FLAG_HELLO = 0x01
_OUTPUT_CODES = {PilotOutput.X1: 0, PilotOutput.X2: 1, PilotOutput.STATE_E: 2, PilotOutput.STATE_F: 3}
_OUTPUT_BY_CODE = {code: output for output, code in _OUTPUT_CODES.items()}
OUTPUT_NAMES = {
    PilotOutput.X1: "X1",
    PilotOutput.X2: "X2",
    PilotOutput.STATE_E: "E",
    PilotOutput.STATE_F: "F",
}
_NO_DUTY = 0xFFFF
_NO_ENERGIZED = 0xFF
_PILOT_BODY_LENGTH = 4 + 1 + 1 + 1 + 2 + 1 + 2 + 1 + 1 + 1


class PilotRecordError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PilotRecord:
    side: int
    output: PilotOutput
    duty_percent: float | None
    vehicle: PilotState
    energized: bool | None = None
    hello: bool = False
    seq: int = 0

    @property
    def line_state(self) -> PilotState:
        return line_state(self.output, self.vehicle)

    def fields(self) -> dict[str, object]:
        """The timeline fields of this record."""
        return {
            "side": "evse" if self.side == PILOT_SIDE_EVSE else "ev",
            "state": self.line_state.value,
            "iec_state": iec_state_name(self.line_state, self.output is PilotOutput.X2),
            "output": OUTPUT_NAMES[self.output],
            "duty_percent": self.duty_percent,
            "vehicle": self.vehicle.value,
            "energized": self.energized,
            "hello": self.hello,
            "seq": self.seq,
        }


def encode_pilot_record(record: PilotRecord) -> bytes:
    """The body of a pilot record frame (after the Ethernet header)."""
    duty = _NO_DUTY if record.duty_percent is None else round(record.duty_percent * 10)
    energized = _NO_ENERGIZED if record.energized is None else int(record.energized)
    return (
        PILOT_RECORD_MAGIC
        + bytes([PILOT_RECORD_VERSION, record.side, PILOT_FLAG_HELLO if record.hello else 0])
        + (record.seq & 0xFFFF).to_bytes(2, "big")
        + bytes([_OUTPUT_CODES[record.output]])
        + duty.to_bytes(2, "big")
        + record.vehicle.value.encode()
        + record.line_state.value.encode()
        + bytes([energized])
    )


def decode_pilot_record(body: bytes) -> PilotRecord:
    """A record from the frame body after the Ethernet header; :class:`PilotRecordError` if malformed."""
    if len(body) < _PILOT_BODY_LENGTH or not body.startswith(PILOT_RECORD_MAGIC):
        raise PilotRecordError("not a pilot record (magic or length)")
    if body[4] != PILOT_RECORD_VERSION:
        raise PilotRecordError(f"pilot record version {body[4]}")
    side, flags = body[5], body[6]
    if side not in (PILOT_SIDE_EVSE, PILOT_SIDE_EV):
        raise PilotRecordError(f"unknown side {side}")
    seq = int.from_bytes(body[7:9], "big")
    output = _OUTPUT_BY_CODE.get(body[9])
    if output is None:
        raise PilotRecordError(f"unknown EVSE output code {body[9]}")
    duty_raw = int.from_bytes(body[10:12], "big")
    try:
        vehicle = PilotState(chr(body[12]))
    except ValueError:
        raise PilotRecordError(f"unknown vehicle state byte {body[12]}") from None
    energized = None if body[14] == _NO_ENERGIZED else bool(body[14])
    return PilotRecord(
        side,
        output,
        None if duty_raw == _NO_DUTY else duty_raw / 10,
        vehicle,
        energized,
        bool(flags & PILOT_FLAG_HELLO),
        seq,
    )


# --------------------------------------------------------------------------------------------------
# Pilot events recorded by commercial testers
# --------------------------------------------------------------------------------------------------

# Some commercial PLC testers put the pilot on the capture as a vendor MME to the local modem address:
# STP_CPSTATE.IND (HomePlug AV MMV 1, MMTYPE 0xA22E, OUI 00:80:E1 ST/IoTecha), as Wireshark decodes it.
# Layout after the Ethernet header: MMV, MMTYPE (LE), FMI (2), OUI (3), MME version, 3 reserved, message
# version, CP state (1 A, 3 B, 5 C, 7 D, 9 E, 0x0A F; even values are "between two states"), PWM duty
# (%, 100 = no PWM), PWM frequency (Hz, LE u16; 0 = no PWM), CP voltage (mV, LE u16).
STP_CPSTATE_IND = 0xA22E
STP_OUI = bytes.fromhex("0080e1")
STP_NO_PWM_DUTY = 100
_STP_STATES = {1: "A", 3: "B", 5: "C", 7: "D", 9: "E", 0x0A: "F"}
_STP_LENGTH = 14 + 19


def decode_stp_cpstate(frame: bytes) -> dict[str, object] | None:
    """The timeline fields of an STP_CPSTATE.IND frame (whole Ethernet frame), or None if it is not one."""
    if len(frame) < _STP_LENGTH or int.from_bytes(frame[12:14], "big") != ETHERTYPE_HOMEPLUG_AV:
        return None
    if int.from_bytes(frame[15:17], "little") != STP_CPSTATE_IND or frame[19:22] != STP_OUI:
        return None
    code, duty = frame[27], frame[28]
    frequency = int.from_bytes(frame[29:31], "little")
    pwm = frequency > 0 and duty < STP_NO_PWM_DUTY
    state = _STP_STATES.get(code)
    return {
        "side": "tester",
        "state": state if state is not None else f"ambiguous 0x{code:02x}",
        "duty_percent": float(duty) if pwm else None,
        "frequency_hz": frequency or None,
        "voltage_v": int.from_bytes(frame[31:33], "little") / 1000,
        "format": "STP_CPSTATE.IND",
    }
