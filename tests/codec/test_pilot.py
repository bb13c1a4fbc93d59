"""The pilot's wire formats: the simulated pilot's record frames and the STP_CPSTATE.IND vendor MME."""

from __future__ import annotations

import pytest

from harness.codec.pilot import (
    PILOT_SIDE_EV,
    PILOT_SIDE_EVSE,
    STP_CPSTATE_IND,
    STP_OUI,
    PilotOutput,
    PilotRecord,
    PilotRecordError,
    PilotState,
    decode_pilot_record,
    decode_stp_cpstate,
    encode_pilot_record,
    iec_state_name,
    line_state,
)


@pytest.mark.parametrize(
    "record",
    [
        PilotRecord(PILOT_SIDE_EVSE, PilotOutput.X1, None, PilotState.A, False, True, 1),
        PilotRecord(PILOT_SIDE_EVSE, PilotOutput.STATE_E, None, PilotState.B, None, False, 2),
        PilotRecord(PILOT_SIDE_EV, PilotOutput.X2, 96.0, PilotState.D, True, False, 3),
    ],
)
def test_record_round_trip(record: PilotRecord) -> None:
    body = encode_pilot_record(record)
    assert len(body) == 15 and body.startswith(b"VGIP\x01")
    assert decode_pilot_record(body) == record


def test_record_fields_name_the_line_state_the_iec_way() -> None:
    record = PilotRecord(PILOT_SIDE_EVSE, PilotOutput.X2, 5.0, PilotState.C, True, False, 9)
    assert record.fields() == {
        "side": "evse",
        "state": "C",
        "iec_state": "C2",
        "output": "X2",
        "duty_percent": 5.0,
        "vehicle": "C",
        "energized": True,
        "hello": False,
        "seq": 9,
    }
    assert PilotRecord(PILOT_SIDE_EV, PilotOutput.STATE_F, None, PilotState.C).fields()["state"] == "F"


def test_line_state_and_iec_names() -> None:
    assert line_state(PilotOutput.X1, PilotState.B) is PilotState.B
    assert line_state(PilotOutput.STATE_E, PilotState.C) is PilotState.E
    assert iec_state_name(PilotState.B, pwm=False) == "B1" and iec_state_name(PilotState.E, pwm=True) == "E"


def test_a_bad_output_code_or_vehicle_byte_is_a_record_error() -> None:
    body = bytearray(encode_pilot_record(PilotRecord(PILOT_SIDE_EVSE, PilotOutput.X1, None, PilotState.A)))
    body[9] = 7
    with pytest.raises(PilotRecordError, match="output code 7"):
        decode_pilot_record(bytes(body))
    body[9], body[12] = 0, ord("Z")
    with pytest.raises(PilotRecordError, match="vehicle state byte"):
        decode_pilot_record(bytes(body))


def _stp_frame(
    state: int, duty: int, frequency: int, millivolts: int, *, mmtype: int = STP_CPSTATE_IND
) -> bytes:
    header = bytes.fromhex("ffffffffffff0080e1000001") + b"\x88\xe1"
    body = (
        b"\x01"
        + mmtype.to_bytes(2, "little")
        + b"\x00\x00"
        + STP_OUI
        + b"\x01"
        + b"\x00\x00\x00"
        + b"\x01"
        + bytes([state, duty])
        + frequency.to_bytes(2, "little")
        + millivolts.to_bytes(2, "little")
    )
    return header + body


def test_stp_cpstate_ind_fields() -> None:
    pwm = decode_stp_cpstate(_stp_frame(5, 22, 1000, 5956))
    assert pwm == {
        "side": "tester",
        "state": "C",
        "duty_percent": 22.0,
        "frequency_hz": 1000,
        "voltage_v": pytest.approx(5.956),
        "format": "STP_CPSTATE.IND",
    }
    steady = decode_stp_cpstate(_stp_frame(3, 100, 0, 9000))
    assert steady is not None and steady["duty_percent"] is None and steady["frequency_hz"] is None
    between = decode_stp_cpstate(_stp_frame(4, 100, 0, 7500))
    assert between is not None and between["state"] == "ambiguous 0x04"


def test_other_frames_are_not_stp_cpstate() -> None:
    frame = _stp_frame(5, 22, 1000, 5956)
    assert decode_stp_cpstate(frame[:-1]) is None  # too short
    assert decode_stp_cpstate(_stp_frame(5, 22, 1000, 5956, mmtype=0x6064)) is None  # CM_SLAC_PARM.REQ
    assert decode_stp_cpstate(frame[:12] + b"\x88\xb5" + frame[14:]) is None  # not HomePlug AV
