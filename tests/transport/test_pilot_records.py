"""Pilot records (the simulated pilot's 0x88B5 frames) and their decoding onto the timeline."""

from pathlib import Path

import pytest

from capture.reader import read_timeline
from harness.codec.pilot import (
    ETHERTYPE_PILOT_RECORD,
    PILOT_SIDE_EV,
    PILOT_SIDE_EVSE,
    PilotOutput,
    PilotRecord,
    PilotRecordError,
    PilotState,
    decode_pilot_record,
    encode_pilot_record,
    line_state,
)
from harness.transport.raw_ethernet import ethernet_frame


@pytest.mark.parametrize(
    "record",
    [
        PilotRecord(PILOT_SIDE_EVSE, PilotOutput.X2, 5.0, PilotState.B, False, False, 7),
        PilotRecord(PILOT_SIDE_EVSE, PilotOutput.STATE_F, None, PilotState.C, True, True, 65535),
        PilotRecord(PILOT_SIDE_EV, PilotOutput.X2, 26.7, PilotState.C, None, False, 1),
    ],
)
def test_record_round_trip(record: PilotRecord) -> None:
    assert decode_pilot_record(encode_pilot_record(record)) == record


def test_state_e_and_f_override_the_vehicle() -> None:
    assert line_state(PilotOutput.STATE_F, PilotState.C) is PilotState.F
    assert line_state(PilotOutput.STATE_E, PilotState.B) is PilotState.E
    assert line_state(PilotOutput.X2, PilotState.C) is PilotState.C


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"XXXX" + bytes(11),
        b"VGIP\x02" + bytes(10),
        b"VGIP\x01\x03" + bytes(9),
        b"VGIP\x01\x01\x00\x00\x01\x09",
    ],
)
def test_malformed_records_are_rejected(body: bytes) -> None:
    with pytest.raises(PilotRecordError):
        decode_pilot_record(body.ljust(15, b"\x00") if body.startswith(b"VGIP\x01\x01") else body)


def test_reader_puts_pilot_records_and_echo_probes_on_the_timeline(tmp_path: Path) -> None:
    from scapy.layers.inet import UDP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw
    from scapy.utils import PcapNgWriter

    record = PilotRecord(PILOT_SIDE_EVSE, PilotOutput.X2, 5.0, PilotState.B, False)
    frames = [
        Ether(ethernet_frame("02:00:00:00:00:02", "02:00:00:00:00:01", ETHERTYPE_PILOT_RECORD,
                             encode_pilot_record(record))),
        Ether(ethernet_frame("02:00:00:00:00:02", "02:00:00:00:00:01", ETHERTYPE_PILOT_RECORD, b"VGIP\x09")),
        Ether() / IPv6(src="fe80::1", dst="fe80::2") / UDP(sport=40000, dport=7) / Raw(b"probe"),
        Ether() / IPv6(src="fe80::2", dst="fe80::1") / UDP(sport=7, dport=40000) / Raw(b"probe"),
    ]  # fmt: skip
    path = tmp_path / "c.pcapng"
    with PcapNgWriter(str(path)) as writer:
        for n, frame in enumerate(frames):
            frame.time = 1000.0 + n
            writer.write(frame)
    events = read_timeline(path)
    assert [(e.protocol, e.message) for e in events] == [
        ("PILOT", "EvseOutput"),
        ("PILOT", "malformed"),
        ("ECHO", "request"),
        ("ECHO", "reply"),
    ]
    first = events[0]
    assert first.fields["state"] == "B" and first.fields["output"] == "X2"
    assert first.fields["duty_percent"] == 5.0 and first.fields["iec_state"] == "B2"
    assert events[1].error
    assert events[2].fields["payload"] == b"probe".hex()


def test_commercial_tester_pilot_events_are_decoded(captures_dir: Path) -> None:
    """The sample capture of a commercial tester records pilot changes as STP_CPSTATE.IND."""
    path = captures_dir / "IEC61851_AC_PWM_Basic.pcapng"
    if not path.exists():
        pytest.skip(f"{path.name} is not in the shared captures")
    pilot = [e for e in read_timeline(path) if e.protocol == "PILOT"]
    assert [e.fields["state"] for e in pilot] == ["A", "B", "B", "C", "B", "C", "C", "B", "A"]
    assert [e.fields["duty_percent"] for e in pilot][:4] == [None, None, 22.0, 22.0]
    assert pilot[3].fields["voltage_v"] == pytest.approx(5.956)
    assert all(e.message == "CpState" and e.fields["format"] == "STP_CPSTATE.IND" for e in pilot)
