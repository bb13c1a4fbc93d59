"""The emulated Green PHY modems on a real veth pair: CM_SET_KEY, attenuation reports, the AVLN
(link up only with the same NMK, down when the peer leaves) and the IPv6 gate."""

import asyncio
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from harness.codec import homeplug as hp
from harness.devices.modem_emulator import (
    BEACON_LOSS_S,
    BEACON_PERIOD_S,
    EmulatedModem,
    decode_beacon,
    encode_beacon,
    flat_profile,
)
from harness.transport.raw_ethernet import EthernetFrame, interface_mac

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets and veth need root")


@pytest.fixture
def veth():
    name = "vgt" + uuid.uuid4().hex[:6]
    a, b = name + "a", name + "b"
    subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b], check=True)
    for end in (a, b):
        subprocess.run(["ip", "link", "set", end, "up"], check=True)
    yield a, b
    subprocess.run(["ip", "link", "del", a], capture_output=True)


def test_beacon_round_trip() -> None:
    frame = encode_beacon("02:00:00:00:00:01", "0a:00:00:00:00:01", 2, b"\x01" * 7, b"\x02" * 16)
    assert len(frame) == hp.MIN_FRAME_LENGTH
    modem, role, nid, digest, host = decode_beacon(frame)
    assert (modem, role, nid, host) == ("02:00:00:00:00:01", 2, b"\x01" * 7, "0a:00:00:00:00:01")
    assert b"\x02" * 16 not in frame  # the NMK itself never goes on the wire
    assert decode_beacon(frame[:20]) is None


def test_flat_profile_averages_to_its_level() -> None:
    profile = flat_profile(30)
    assert len(profile) == hp.ATTEN_GROUPS
    assert abs(hp.average_attenuation(profile) - 30) <= 0.5


async def _wait(predicate, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def test_link_comes_up_only_with_the_same_key_and_gates_ip(veth) -> None:
    a, b = veth
    disable = Path(f"/proc/sys/net/ipv6/conf/{b}/disable_ipv6")

    async def scenario() -> None:
        ev = EmulatedModem(a, interface_mac(a), evse=False, gate=False)
        evse = EmulatedModem(b, interface_mac(b), evse=True, profile=flat_profile(30))
        ev_frames: list[EthernetFrame] = []
        evse_frames: list[EthernetFrame] = []
        ev.on_frame, evse.on_frame = ev_frames.append, evse_frames.append
        await ev.open()
        await evse.open()
        try:
            assert disable.read_text().strip() == "1"  # gate closed: no IPv6 before the link
            nid, nmk = b"\x01" * 7, b"\x11" * 16
            evse.send(hp.encode_set_key_req(evse.host_mac, nid, nmk, dst=hp.LOCAL_MODEM_MAC))
            ev.send(hp.encode_set_key_req(ev.host_mac, nid, b"\x22" * 16, dst=hp.LOCAL_MODEM_MAC))
            assert any(hp.decode_slac(f.data).name == "CM_SET_KEY.CNF" for f in ev_frames)
            await asyncio.sleep(3 * BEACON_PERIOD_S)
            assert not ev.link_up and not evse.link_up  # different NMK: no network
            ev.send(hp.encode_set_key_req(ev.host_mac, nid, nmk, dst=hp.LOCAL_MODEM_MAC))
            assert await _wait(lambda: ev.link_up and evse.link_up, 2.0)
            assert disable.read_text().strip() == "0"  # gate open
            # a sound from the EV makes the EVSE's modem report the attenuation to its host
            ev.send(hp.encode_mnbc_sound_ind(ev.host_mac, b"\x05" * 8, countdown=0))
            assert await _wait(
                lambda: any(hp.decode_slac(f.data).name == "CM_ATTEN_PROFILE.IND" for f in evse_frames
                            if hp.is_slac_frame(f.data)), 1.0
            )  # fmt: skip
            ev.leave()
            assert await _wait(lambda: not evse.link_up, BEACON_LOSS_S + 1.0)
            assert disable.read_text().strip() == "1"
        finally:
            await ev.close()
            await evse.close()
        assert disable.read_text().strip() == "0"  # closing the last modem restores IPv6

    asyncio.run(scenario())


def test_check_modem_reads_the_version_answer(veth) -> None:
    from harness.devices.slac_modem import QCA_OUI, VS_SW_VER_CNF, VS_SW_VER_REQ, check_modem
    from harness.transport.raw_ethernet import ethernet_frame, open_raw_ethernet

    a, b = veth

    async def scenario() -> None:
        modem_side = await open_raw_ethernet(b, hp.ETHERTYPE_HOMEPLUG_AV)

        async def answer() -> None:
            request = await modem_side.receive(2.0)
            assert request is not None and hp.mme_type(request.data) == VS_SW_VER_REQ
            body = bytes([0]) + VS_SW_VER_CNF.to_bytes(2, "little") + QCA_OUI + b"\x00\x01MAC-QCA7000-1.1.3"
            modem_side.send(ethernet_frame(request.src, "00:b0:52:12:34:56", hp.ETHERTYPE_HOMEPLUG_AV, body))

        responder = asyncio.ensure_future(answer())
        try:
            found = await check_modem(a)
        finally:
            await responder
            modem_side.close()
        assert found is not None
        assert found[0] == "00:b0:52:12:34:56" and "MAC-QCA7000-1.1.3" in found[1]
        assert await check_modem(a, timeout=0.2) is None  # nobody answers now

    asyncio.run(scenario())
