"""The emulated modem hosted as a process of its own on its host's interface (`vgi sim modem`): what it
does with the frames it sees there, in memory (outgoing = sent by this host, the modem's own included),
and once on a real veth pair that its host shares."""

import asyncio
import os
import socket
import subprocess
import uuid

import pytest

from harness.codec import homeplug as hp
from harness.devices.modem_emulator import EMULATED_FIRMWARE, crosses_medium, flat_profile
from harness.devices.modem_process import (
    SharedInterfaceModem,
    TappedFrame,
    parse_profile,
    run_modem,
)
from harness.devices.slac_modem import (
    VS_NW_INFO_CNF,
    VS_SW_VER_CNF,
    decode_vs_nw_info_cnf,
    vs_nw_info_req,
    vs_sw_ver_req,
)
from harness.transport.raw_ethernet import EthernetFrame, interface_mac

HOST = "0a:00:00:00:00:01"
FAR_HOST = "0a:00:00:00:00:02"
NID, NMK = b"\x01\x02\x03\x04\x05\x06\x00", b"\x11" * 16


class FakeTap:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, frame: bytes) -> None:
        self.sent.append(frame)


def _modem(evse: bool = True) -> tuple[SharedInterfaceModem, FakeTap]:
    modem = SharedInterfaceModem("vgt-none", HOST, evse=evse, profile=flat_profile(30), gate=False)
    tap = FakeTap()
    modem._tap = tap  # type: ignore[assignment]
    return modem, tap


def _seen(frame: bytes, *, outgoing: bool) -> TappedFrame:
    return TappedFrame(EthernetFrame(frame, 0.0), outgoing)


def _names(frames: list[bytes]) -> list[str]:
    return [hp.decode_slac(f).name for f in frames]


def test_host_set_key_is_answered_once_and_own_frames_are_ignored() -> None:
    modem, tap = _modem()
    modem.handle_tapped(_seen(hp.encode_set_key_req(HOST, NID, NMK), outgoing=True))
    assert _names(tap.sent) == ["CM_SET_KEY.CNF"]
    cnf = tap.sent[0]
    assert EthernetFrame(cnf, 0).dst == HOST and EthernetFrame(cnf, 0).src == modem.modem_mac
    assert (modem.nid, modem.nmk) == (NID, NMK)
    # The kernel shows the modem its own CNF as an outgoing frame: no answer, no loop.
    modem.handle_tapped(_seen(cnf, outgoing=True))
    assert len(tap.sent) == 1


def test_a_set_key_from_the_medium_is_not_answered() -> None:
    """The far side's host talking to its own modem shows on the shared veth; it is not ours to answer."""
    modem, tap = _modem()
    modem.handle_tapped(_seen(hp.encode_set_key_req(FAR_HOST, NID, b"\x22" * 16), outgoing=False))
    assert tap.sent == [] and modem.nmk == b""


def test_host_frames_for_the_medium_are_left_alone() -> None:
    modem, tap = _modem()
    parm_cnf = hp.encode_slac_parm_cnf(HOST, FAR_HOST, b"\x05" * 8, num_sounds=10, time_out=6)
    modem.handle_tapped(_seen(parm_cnf, outgoing=True))
    modem.handle_tapped(_seen(hp.encode_mnbc_sound_ind(HOST, b"\x05" * 8, countdown=3), outgoing=True))
    assert tap.sent == []  # already on the wire; the host's own sounds are not measured


def test_evse_modem_reports_each_sound_heard_to_its_host() -> None:
    modem, tap = _modem(evse=True)
    sound = hp.encode_mnbc_sound_ind(FAR_HOST, b"\x05" * 8, countdown=9)
    modem.handle_tapped(_seen(sound, outgoing=False))
    (report,) = tap.sent
    message = hp.decode_slac(report)
    assert message.name == "CM_ATTEN_PROFILE.IND"
    assert EthernetFrame(report, 0).dst == HOST
    assert message.fields["PEV_MAC"] == FAR_HOST
    assert tuple(message.fields["AAG"]) == flat_profile(30)


def test_ev_modem_reports_no_attenuation() -> None:
    modem, tap = _modem(evse=False)
    modem.handle_tapped(_seen(hp.encode_mnbc_sound_ind(FAR_HOST, b"\x05" * 8, countdown=9), outgoing=False))
    assert tap.sent == []


def test_status_requests_are_answered() -> None:
    modem, tap = _modem(evse=True)
    modem.handle_tapped(_seen(vs_sw_ver_req(HOST), outgoing=True))
    modem.handle_tapped(_seen(vs_nw_info_req(HOST), outgoing=True))
    version, info = tap.sent
    assert hp.mme_type(version) == VS_SW_VER_CNF and EMULATED_FIRMWARE.encode() in version
    assert hp.mme_type(info) == VS_NW_INFO_CNF
    assert decode_vs_nw_info_cnf(info) == []  # no key yet: member of no AVLN
    modem.handle_tapped(_seen(hp.encode_set_key_req(HOST, NID, NMK), outgoing=True))
    modem.link_up, modem.peer_modem = True, "02:00:00:00:00:02"  # as the far modem's beacons would
    tap.sent.clear()
    modem.handle_tapped(_seen(vs_nw_info_req(HOST), outgoing=True))
    (network,) = decode_vs_nw_info_cnf(tap.sent[0]) or []
    assert network.nid == NID and network.stations == ("02:00:00:00:00:02",)


def test_local_management_does_not_cross_the_medium() -> None:
    assert not crosses_medium(hp.encode_set_key_req(HOST, NID, NMK))
    assert not crosses_medium(hp.encode_set_key_cnf("02:00:00:00:00:01", HOST))
    assert not crosses_medium(hp.encode_atten_profile_ind("02:00:00:00:00:01", FAR_HOST, flat_profile(20)))
    assert not crosses_medium(vs_nw_info_req(HOST))
    assert crosses_medium(hp.encode_slac_parm_req(HOST, b"\x05" * 8))
    assert crosses_medium(hp.encode_mnbc_sound_ind(HOST, b"\x05" * 8, countdown=1))


def test_attenuation_option() -> None:
    assert parse_profile("25") == flat_profile(25)
    assert parse_profile(",".join(["7"] * hp.ATTEN_GROUPS)) == (7,) * hp.ATTEN_GROUPS
    with pytest.raises(ValueError):
        parse_profile("1,2,3")


@pytest.fixture
def veth():
    if os.geteuid() != 0:
        pytest.skip("raw sockets and veth need root")
    name = "vgm" + uuid.uuid4().hex[:6]
    a, b = name + "a", name + "b"
    subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b], check=True)
    for end in (a, b):
        subprocess.run(["ip", "link", "set", end, "up"], check=True)
    yield a, b
    subprocess.run(["ip", "link", "del", a], capture_output=True)


def test_on_a_veth_the_host_hears_the_modem_and_the_far_side_hears_no_answer_to_itself(veth) -> None:
    """A host socket for every ethertype on the modem's interface (as pyslac's) gets the CNF; the modem
    answers once though it sees its own CNF go out too."""
    a, b = veth

    async def scenario() -> None:
        task = asyncio.ensure_future(run_modem(a, evse=True, profile=flat_profile(20), gate=False))
        host = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        host.bind((a, 0))
        host.setblocking(False)
        far = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(hp.ETHERTYPE_HOMEPLUG_AV))
        far.bind((b, hp.ETHERTYPE_HOMEPLUG_AV))
        far.setblocking(False)
        loop = asyncio.get_running_loop()
        try:
            await asyncio.sleep(0.2)  # the modem process's socket is open
            host_mac = interface_mac(a)
            await loop.sock_sendall(host, hp.encode_set_key_req(host_mac, NID, NMK))
            names = []
            async with asyncio.timeout(2.0):
                while "CM_SET_KEY.CNF" not in names:
                    data = await loop.sock_recv(host, 2048)
                    if hp.is_slac_frame(data):
                        names.append(hp.decode_slac(data).name)
            await asyncio.sleep(0.3)  # would an answer to its own CNF come? (it must not)
            while True:
                try:
                    data = host.recv(2048)
                except BlockingIOError:
                    break
                if hp.is_slac_frame(data):
                    names.append(hp.decode_slac(data).name)
            assert names.count("CM_SET_KEY.CNF") == 1, names
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            host.close()
            far.close()

    asyncio.run(scenario())
