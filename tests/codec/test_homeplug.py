"""SLAC MME codec: build and parse every message, decode the multi-EVSE sample capture, fuzz the decoder."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.l2 import Ether

from harness.codec import homeplug as hp
from harness.codec.homeplug import HomePlugDecodeError, decode_slac

EV = "02:00:00:00:00:01"
EVSE = "02:00:00:00:00:02"
MODEM = "02:00:00:00:00:03"
RUN_ID = bytes.fromhex("0102030405060708")
NID = bytes.fromhex("01020304050607")
NMK = bytes(range(16))
PROFILE = list(range(10, 68))

# (builder output, expected name, expected fields subset, scapy layer that must dissect it)
CASES = [
    (
        hp.encode_slac_parm_req(EV, RUN_ID),
        "CM_SLAC_PARM.REQ",
        {"RunID": RUN_ID.hex(), "APPLICATION_TYPE": 0, "SECURITY_TYPE": 0},
        "CM_SLAC_PARM_REQ",
    ),
    (
        hp.encode_slac_parm_cnf(EVSE, EV, RUN_ID, num_sounds=10, time_out=6),
        "CM_SLAC_PARM.CNF",
        {
            "M-SOUND_TARGET": hp.BROADCAST_MAC,
            "NUM_SOUNDS": 10,
            "Time_Out": 6,
            "RESP_TYPE": 1,
            "FORWARDING_STA": EV,
            "RunID": RUN_ID.hex(),
        },
        "CM_SLAC_PARM_CNF",
    ),
    (
        hp.encode_start_atten_char_ind(EV, RUN_ID, num_sounds=10, time_out=6),
        "CM_START_ATTEN_CHAR.IND",
        {"NUM_SOUNDS": 10, "Time_Out": 6, "RESP_TYPE": 1, "FORWARDING_STA": EV, "RunID": RUN_ID.hex()},
        "CM_START_ATTEN_CHAR_IND",
    ),
    (
        hp.encode_mnbc_sound_ind(EV, RUN_ID, countdown=7, random=bytes(range(16))),
        "CM_MNBC_SOUND.IND",
        {"CNT": 7, "RunID": RUN_ID.hex(), "RND": bytes(range(16)).hex()},
        "CM_MNBC_SOUND_IND",
    ),
    (
        hp.encode_atten_profile_ind(MODEM, EV, PROFILE),
        "CM_ATTEN_PROFILE.IND",
        {"PEV_MAC": EV, "NumGroups": 58, "AAG": PROFILE},
        "CM_ATTEN_PROFILE_IND",
    ),
    (
        hp.encode_atten_char_ind(EVSE, EV, RUN_ID, aag=PROFILE, num_sounds=10),
        "CM_ATTEN_CHAR.IND",
        {"SOURCE_ADDRESS": EV, "RunID": RUN_ID.hex(), "NUM_SOUNDS": 10, "NumGroups": 58, "AAG": PROFILE},
        "CM_ATTEN_CHAR_IND",
    ),
    (
        hp.encode_atten_char_rsp(EV, EVSE, RUN_ID),
        "CM_ATTEN_CHAR.RSP",
        {"SOURCE_ADDRESS": EV, "RunID": RUN_ID.hex(), "Result": 0},
        "CM_ATTEN_CHAR_RSP",
    ),
    (
        hp.encode_validate_req(EV, EVSE, timer=20),
        "CM_VALIDATE.REQ",
        {"SignalType": 0, "Timer": 20, "Result": hp.VALIDATE_RESULT_READY},
        "CM_VALIDATE_REQ",
    ),
    (
        hp.encode_validate_cnf(EVSE, EV, toggle_num=3, result=hp.VALIDATE_RESULT_SUCCESS),
        "CM_VALIDATE.CNF",
        {"SignalType": 0, "ToggleNum": 3, "Result": hp.VALIDATE_RESULT_SUCCESS},
        "CM_VALIDATE_CNF",
    ),
    (
        hp.encode_slac_match_req(EV, EVSE, RUN_ID),
        "CM_SLAC_MATCH.REQ",
        {"MVFLength": 0x3E, "PEV_MAC": EV, "EVSE_MAC": EVSE, "RunID": RUN_ID.hex()},
        "CM_SLAC_MATCH_REQ",
    ),
    (
        hp.encode_slac_match_cnf(EVSE, EV, RUN_ID, nid=NID, nmk=NMK),
        "CM_SLAC_MATCH.CNF",
        {
            "MVFLength": 0x56,
            "PEV_MAC": EV,
            "EVSE_MAC": EVSE,
            "RunID": RUN_ID.hex(),
            "NID": NID.hex(),
            "NMK": NMK.hex(),
        },
        "CM_SLAC_MATCH_CNF",
    ),
    (
        hp.encode_set_key_req(EV, NID, NMK),
        "CM_SET_KEY.REQ",
        {"KeyType": hp.KEY_TYPE_NMK, "NID": NID.hex(), "NewKey": NMK.hex(), "PID": 4, "PMN": 0, "NewEKS": 1},
        "CM_SET_KEY_REQ",
    ),
    (
        hp.encode_set_key_cnf(MODEM, EV),
        "CM_SET_KEY.CNF",
        {"Result": 0},
        "CM_SET_KEY_CNF",
    ),
    (
        hp.encode_amp_map_req(EV, EVSE, [1, 2, 3, 15, 0]),
        "CM_AMP_MAP.REQ",
        {"AMLEN": 5, "AMDATA": "21f300"},
        "CM_AMP_MAP_REQ",
    ),
    (
        hp.encode_amp_map_cnf(EVSE, EV, result=hp.AMP_MAP_RESULT_FAILURE),
        "CM_AMP_MAP.CNF",
        {"ResType": 1},
        "CM_AMP_MAP_CNF",
    ),
]


@pytest.mark.parametrize(("frame", "name", "expected", "layer"), CASES, ids=[case[1] for case in CASES])
def test_build_and_parse_every_message(frame: bytes, name: str, expected: dict, layer: str) -> None:
    assert len(frame) >= hp.MIN_FRAME_LENGTH
    message = decode_slac(frame)
    assert message.name == name
    assert hp.mmtype_name(message.mmtype) == name
    for key, value in expected.items():
        assert message.fields[key] == value, key
    # scapy dissects the same bytes with the intended layer (incl. the ones added here).
    assert type(Ether(frame).payload.payload).__name__ == layer


def test_every_encoder_is_covered() -> None:
    assert {case[1] for case in CASES} == set(hp.ENCODERS)
    assert {case[1] for case in CASES} == {hp.mmtype_name(mmtype) for mmtype in hp.SLAC_MMTYPES}


def test_short_frames_are_padded_to_60_bytes_with_zeros() -> None:
    frame = hp.encode_slac_parm_req(EV, RUN_ID)
    assert len(frame) == 60
    assert frame[14 + 5 + 10 :] == bytes(60 - 29)
    long_frame = hp.encode_atten_char_ind(EVSE, EV, RUN_ID, aag=PROFILE, num_sounds=10)
    assert len(long_frame) == 14 + 5 + 2 + 6 + 8 + 17 + 17 + 1 + 1 + 58


def test_amp_map_nibbles_round_trip() -> None:
    amplitudes = [1, 2, 3, 15, 0]
    message = decode_slac(hp.encode_amp_map_req(EV, EVSE, amplitudes))
    assert hp.decode_amp_map(str(message.fields["AMDATA"]), int(str(message.fields["AMLEN"]))) == amplitudes


def test_vlan_tagged_frames_decode() -> None:
    tagged = hp._frame(EV, hp.BROADCAST_MAC, 0x6064, hp.CM_SLAC_PARM_REQ(RunID=RUN_ID), vlan=7)
    message = decode_slac(tagged)
    assert message.vlan == 7 and message.run_id == RUN_ID and len(tagged) == 64


@pytest.mark.parametrize(
    ("frame", "offset", "fragment"),
    [
        (b"\x00" * 10, 10, "truncated Ethernet header"),
        (hp.encode_slac_parm_req(EV, RUN_ID)[:12] + b"\x08\x00" + bytes(46), 12, "not HomePlug AV"),
        (
            hp.encode_slac_parm_req(EV, RUN_ID)[:14] + b"\x00" + hp.encode_slac_parm_req(EV, RUN_ID)[15:],
            14,
            "MMV",
        ),
        (hp.encode_slac_parm_req(EV, RUN_ID)[:15] + b"\x00\xa0" + bytes(43), 15, "not a SLAC message"),
        (hp.encode_slac_parm_req(EV, RUN_ID)[:17] + b"\x10\x00" + bytes(41), 17, "fragmented"),
        (hp.encode_slac_match_cnf(EVSE, EV, RUN_ID, nid=NID, nmk=NMK)[:100], 100, "truncated in NMK"),
        (
            hp.encode_atten_char_ind(EVSE, EV, RUN_ID, aag=PROFILE, num_sounds=10)[:-1],
            128,
            "truncated in AAG",
        ),
    ],
)
def test_malformed_frames_raise_with_offset(frame: bytes, offset: int, fragment: str) -> None:
    with pytest.raises(HomePlugDecodeError) as caught:
        decode_slac(frame)
    assert caught.value.offset == offset
    assert fragment in caught.value.reason


def test_replace_field_rewrites_only_that_field() -> None:
    frame = hp.encode_slac_parm_cnf(EVSE, EV, RUN_ID, num_sounds=10, time_out=6)
    changed = hp.replace_field(frame, "RunID", bytes(8))
    assert decode_slac(changed).run_id == bytes(8)
    assert decode_slac(changed).fields["NUM_SOUNDS"] == 10
    with pytest.raises(ValueError):
        hp.replace_field(frame, "RunID", b"\x00")
    with pytest.raises(KeyError):
        hp.replace_field(frame, "NMK", bytes(16))


# ---------------------------------------------------------------------------------- fuzzing

VALID_FRAMES = [case[0] for case in CASES]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes_only_raise_decode_error(data: bytes) -> None:
    try:
        decode_slac(data)
    except HomePlugDecodeError as error:
        assert 0 <= error.offset <= max(len(data), 0) + 2


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(VALID_FRAMES),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=6),
    st.integers(0, 200),
)
def test_fuzz_mutated_frames_only_raise_decode_error(frame: bytes, flips: list, cut: int) -> None:
    data = bytearray(frame)
    for position, value in flips:
        if position < len(data):
            data[position] = value
    data = data[: max(cut, 0)] if cut < len(data) else data
    try:
        message = decode_slac(bytes(data))
    except HomePlugDecodeError as error:
        assert 0 <= error.offset <= len(data)
    else:
        assert message.name in {hp.mmtype_name(mmtype) for mmtype in hp.SLAC_MMTYPES}


def test_decode_rejects_non_bytes_with_decode_error() -> None:
    with pytest.raises(HomePlugDecodeError):
        decode_slac("not bytes")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------- sample capture

MULTI_EVSE = "ISO-2_DC_multi_EVSE_SLAC_DS5366_Josev.pcapng"


@pytest.fixture(scope="module")
def multi_evse_messages(captures_dir: Path) -> list[hp.SlacMessage]:
    from scapy.utils import rdpcap

    path = captures_dir / MULTI_EVSE
    if not path.is_file():
        pytest.skip(f"{path} not found")
    frames = [bytes(packet) for packet in rdpcap(str(path))]
    homeplug = [frame for frame in frames if hp.is_slac_frame(frame)]
    return [decode_slac(frame) for frame in homeplug]


def test_capture_every_slac_frame_decodes(multi_evse_messages: list[hp.SlacMessage]) -> None:
    names = [message.name for message in multi_evse_messages]
    # The DS5366 mirrors the EV's frames onto both EVSE VLANs.
    assert names.count("CM_SLAC_PARM.REQ") == 2
    assert names.count("CM_SLAC_PARM.CNF") == 2
    assert names.count("CM_START_ATTEN_CHAR.IND") == 6
    assert names.count("CM_MNBC_SOUND.IND") == 20
    assert names.count("CM_ATTEN_PROFILE.IND") == 20
    assert names.count("CM_ATTEN_CHAR.IND") == 2
    assert names.count("CM_ATTEN_CHAR.RSP") == 4
    assert names.count("CM_SLAC_MATCH.REQ") == 2
    assert names.count("CM_SLAC_MATCH.CNF") == 1
    sounds = [m.fields["CNT"] for m in multi_evse_messages if m.name == "CM_MNBC_SOUND.IND" and m.vlan == 1]
    assert sounds == list(range(9, -1, -1))


def test_capture_run_id_is_echoed(multi_evse_messages: list[hp.SlacMessage]) -> None:
    request = next(m for m in multi_evse_messages if m.name == "CM_SLAC_PARM.REQ")
    ev_mac = request.src
    with_run_id = [m for m in multi_evse_messages if "RunID" in m.fields]
    assert len(with_run_id) == 39
    assert {m.run_id for m in with_run_id} == {request.run_id}
    for confirm in (m for m in multi_evse_messages if m.name == "CM_SLAC_PARM.CNF"):
        assert confirm.dst == ev_mac and confirm.fields["FORWARDING_STA"] == ev_mac
        assert confirm.fields["NUM_SOUNDS"] == 10 and confirm.fields["Time_Out"] == 6


def test_capture_ev_picked_lowest_attenuation_evse(multi_evse_messages: list[hp.SlacMessage]) -> None:
    averages = {
        m.src: hp.average_attenuation(m.fields["AAG"])  # type: ignore[arg-type]
        for m in multi_evse_messages
        if m.name == "CM_ATTEN_CHAR.IND"
    }
    assert len(averages) == 2
    best = min(averages, key=averages.__getitem__)
    assert best == "64:4d:70:01:06:0e"
    assert round(averages[best], 2) == 25.78 and round(averages["64:4d:70:01:06:10"], 2) == 31.28
    match_requests = [m for m in multi_evse_messages if m.name == "CM_SLAC_MATCH.REQ"]
    assert {m.dst for m in match_requests} == {best}
    assert {m.fields["EVSE_MAC"] for m in match_requests} == {best}
    confirm = next(m for m in multi_evse_messages if m.name == "CM_SLAC_MATCH.CNF")
    assert confirm.src == best
    assert confirm.fields["NID"] == "65689c4e48b301"
    assert confirm.fields["NMK"] == "a0a38cd0a5fa61b6516434e3d9732abb"


# ---------------------------------------------------------------------------------- tshark agrees

TSHARK_NAMES = {
    "CM_SLAC_PARM.REQ": "0x6064",
    "CM_VALIDATE.REQ": "0x6078",
    "CM_VALIDATE.CNF": "0x6079",
    "CM_ATTEN_PROFILE.IND": "0x6086",
}


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_tshark_homeplug_av_dissector_reads_our_frames(tmp_path: Path) -> None:
    from scapy.utils import wrpcap

    frames = [case[0] for case in CASES]
    path = tmp_path / "slac.pcap"
    wrpcap(str(path), [Ether(frame) for frame in frames])
    result = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-e", "homeplug_av.mmhdr.mmtype", "-e", "_ws.malformed"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert len(rows) == len(frames)
    for frame, (mmtype, *malformed) in zip(frames, rows, strict=True):
        assert int(mmtype, 16) == decode_slac(frame).mmtype
        assert not any(malformed), decode_slac(frame).name


def test_capture_set_key_of_a_real_test_system(captures_dir: Path) -> None:
    from scapy.utils import rdpcap

    path = captures_dir / "IEC61851_AC_PWM_Basic.pcapng"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    messages = [decode_slac(bytes(p)) for p in rdpcap(str(path)) if hp.is_slac_frame(bytes(p))]
    requests = [m for m in messages if m.name == "CM_SET_KEY.REQ"]
    confirms = [m for m in messages if m.name == "CM_SET_KEY.CNF"]
    assert len(requests) == len(confirms) == 2
    for request in requests:
        assert request.dst == hp.LOCAL_MODEM_MAC
        assert request.fields["KeyType"] == hp.KEY_TYPE_NMK and request.fields["PID"] == hp.SET_KEY_PID_HLE
        assert len(str(request.fields["NID"])) == 2 * hp.NID_LENGTH
        assert len(str(request.fields["NewKey"])) == 2 * hp.NMK_LENGTH
        # Our encoder produces the same layout: re-encode and compare the MME payload byte for byte.
        ours = hp.encode_set_key_req(
            request.src,
            bytes.fromhex(str(request.fields["NID"])),
            bytes.fromhex(str(request.fields["NewKey"])),
            cco_capability=int(str(request.fields["CCoCapability"])),
        )
        assert decode_slac(ours).fields == request.fields
    assert {c.fields["Result"] for c in confirms} == {1}  # see hp.SET_KEY_RESULT_SUCCESS


def test_decoded_fields_are_json_compatible(multi_evse_messages: list[hp.SlacMessage]) -> None:
    import json

    for message in [decode_slac(case[0]) for case in CASES] + multi_evse_messages:
        assert json.loads(json.dumps(message.fields)) == message.fields
