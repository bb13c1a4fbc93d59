"""Replay the multi-EVSE sample capture into the SLAC cores: they decide as the real devices did."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.codec import homeplug as hp
from harness.codec.homeplug import SlacMessage, decode_slac
from harness.protocol.core import Send, TimerExpired
from harness.protocol.slac.common import Ignored, SetKey, Start, frame_received
from harness.protocol.slac.ev import EvSlac, EvSlacConfig, EvState
from harness.protocol.slac.evse import EvseSlac, EvseSlacConfig, EvseState

CAPTURE = "ISO-2_DC_multi_EVSE_SLAC_DS5366_Josev.pcapng"
EV_MAC = "a0:ce:c8:ca:5f:a2"
CHOSEN_EVSE = "64:4d:70:01:06:0e"  # VLAN 2
OTHER_EVSE = "64:4d:70:01:06:10"  # VLAN 1


@pytest.fixture(scope="module")
def timeline(captures_dir: Path) -> list[tuple[float, SlacMessage]]:
    from scapy.utils import rdpcap

    path = captures_dir / CAPTURE
    if not path.is_file():
        pytest.skip(f"{path} not found")
    packets = rdpcap(str(path))
    start = float(packets[0].time)
    return [(float(p.time) - start, decode_slac(bytes(p))) for p in packets if hp.is_slac_frame(bytes(p))]


def sent(actions, name: str) -> list[Send]:
    return [a for a in actions if isinstance(a, Send) and a.name == name]


def test_ev_core_picks_the_same_evse_as_the_real_ev(timeline) -> None:
    request = next(m for _, m in timeline if m.name == "CM_SLAC_PARM.REQ")
    assert request.run_id is not None
    ev = EvSlac(EvSlacConfig(mac=EV_MAC, run_id_factory=lambda: request.run_id))
    t0 = next(t for t, m in timeline if m.name == "CM_SLAC_PARM.REQ")
    ev.handle(Start(), t0)
    actions = []
    # What the EV received: the two CNFs, then the two EVSEs' CM_ATTEN_CHAR.IND.
    for time, message in timeline:
        if message.name == "CM_SLAC_PARM.CNF":
            actions += ev.handle(frame_received(message), time)
    deadline = ev.timers.deadlines["TT_match_response"]
    actions += ev.handle(TimerExpired("TT_match_response"), deadline)
    while "TP_EV_batch_msg_interval" in ev.timers.deadlines:
        actions += ev.handle(
            TimerExpired("TP_EV_batch_msg_interval"), ev.timers.deadlines["TP_EV_batch_msg_interval"]
        )
    assert set(ev.candidates) == {CHOSEN_EVSE, OTHER_EVSE}
    last = max(t for t, _ in timeline if t < 3.0)
    for time, message in timeline:
        if message.name == "CM_ATTEN_CHAR.IND":
            actions += ev.handle(frame_received(message), max(time, last))
    assert not [a for a in actions if isinstance(a, Ignored)]
    (match,) = sent(actions, "CM_SLAC_MATCH.REQ")
    assert match.destination == CHOSEN_EVSE
    ours = decode_slac(match.message)
    theirs = next(m for _, m in timeline if m.name == "CM_SLAC_MATCH.REQ")
    assert ours.fields == theirs.fields  # byte-for-byte the same request fields as the real EV sent
    assert {r.destination for r in sent(actions, "CM_ATTEN_CHAR.RSP")} == {CHOSEN_EVSE, OTHER_EVSE}
    # And the real EVSE's answer completes our EV's match.
    cnf = next(m for _, m in timeline if m.name == "CM_SLAC_MATCH.CNF")
    (set_key,) = [a for a in ev.handle(frame_received(cnf), 2.9) if isinstance(a, SetKey)]
    assert ev.state is EvState.JOINING and set_key.nmk.hex() == cnf.fields["NMK"]


def test_evse_core_answers_the_real_ev_like_the_real_evse(timeline) -> None:
    evse = EvseSlac(EvseSlacConfig(mac=CHOSEN_EVSE, key_factory=lambda: (bytes(7), bytes(16))))
    evse.handle(Start(), 0.0)
    actions = []
    # What reached the host of the EVSE on VLAN 2: the EV's frames and its own modem's profiles.
    for time, message in timeline:
        if message.vlan != 2 or message.src == CHOSEN_EVSE:
            continue
        if message.name in ("CM_ATTEN_CHAR.RSP", "CM_SLAC_MATCH.REQ") and message.dst != CHOSEN_EVSE:
            continue
        actions += evse.handle(frame_received(message), time)
    assert not [a for a in actions if isinstance(a, Ignored)]
    assert evse.state is EvseState.MATCHED
    real = {m.name: m for _, m in timeline if m.src == CHOSEN_EVSE}
    (cnf,) = sent(actions, "CM_SLAC_PARM.CNF")
    assert decode_slac(cnf.message).fields == real["CM_SLAC_PARM.CNF"].fields
    (ind,) = sent(actions, "CM_ATTEN_CHAR.IND")
    ours = decode_slac(ind.message).fields
    theirs = real["CM_ATTEN_CHAR.IND"].fields
    for key in ("SOURCE_ADDRESS", "RunID", "NUM_SOUNDS", "NumGroups", "RESP_ID", "SOURCE_ID"):
        assert ours[key] == theirs[key], key
    (match_cnf,) = sent(actions, "CM_SLAC_MATCH.CNF")
    ours = decode_slac(match_cnf.message).fields
    theirs = real["CM_SLAC_MATCH.CNF"].fields
    assert {k: v for k, v in ours.items() if k not in ("NID", "NMK")} == {
        k: v for k, v in theirs.items() if k not in ("NID", "NMK")
    }
