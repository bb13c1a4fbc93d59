"""A real modem's link status (`plc` labs): the host side asks the modem (VS_NW_INFO) after CM_SET_KEY.CNF
instead of assuming the AVLN formed; tested in memory against a fake modem that answers like a QCA7000."""

import asyncio

import pytest

from harness.codec import homeplug as hp
from harness.devices.slac_modem import (
    LINK_LOSS_POLLS,
    QCA_OUI,
    VS_NW_INFO_CNF,
    VS_NW_INFO_REQ,
    LocalModem,
    decode_vs_nw_info_cnf,
    vs_nw_info_cnf,
)
from harness.transport.raw_ethernet import EthernetFrame, ethernet_frame

HOST = "0a:00:00:00:00:01"
MODEM = "00:b0:52:aa:bb:cc"
PEER = "00:b0:52:dd:ee:ff"
NID, NMK = b"\x01\x02\x03\x04\x05\x06\x00", b"\x11" * 16
POLL_S = 0.01


class FakeModem:
    """Answers CM_SET_KEY.REQ and VS_NW_INFO.REQ as a modem on the host's port would; ``networks``
    is what it reports: (NID, stations) per AVLN."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[EthernetFrame] = asyncio.Queue()
        self.networks: list[tuple[bytes, list[str]]] = []
        self.silent = False
        self.requests = 0

    def send(self, frame: bytes) -> None:
        mmtype = hp.mme_type(frame)
        if self.silent:
            return
        if mmtype == hp.CM_SET_KEY | hp.MMTYPE_REQ:
            self._answer(hp.encode_set_key_cnf(MODEM, HOST))
        elif mmtype == VS_NW_INFO_REQ:
            self.requests += 1
            if not self.networks:
                self._answer(vs_nw_info_cnf(MODEM, HOST, b"", [], evse=False))
            for nid, stations in self.networks:
                self._answer(vs_nw_info_cnf(MODEM, HOST, nid, stations, evse=False))

    def _answer(self, frame: bytes) -> None:
        self.queue.put_nowait(EthernetFrame(frame, 0.0))

    def close(self) -> None:
        pass


async def _linked(modem: LocalModem, fake: FakeModem) -> asyncio.Queue[bool]:
    changes: asyncio.Queue[bool] = asyncio.Queue()
    modem.on_link = changes.put_nowait
    modem.attach(fake)  # type: ignore[arg-type]
    return changes


def _modem(link_up_timeout_s: float = 5.0) -> LocalModem:
    return LocalModem("port0", HOST, evse=False, link_up_timeout_s=link_up_timeout_s, poll_interval_s=POLL_S)


def test_link_is_up_once_the_modem_lists_a_peer_in_the_keys_network() -> None:
    async def scenario() -> None:
        fake, modem = FakeModem(), _modem()
        changes = await _linked(modem, fake)
        fake.networks = [(b"\x09" * 7, [PEER])]  # an old AVLN: does not count
        modem.send(hp.encode_set_key_req(HOST, NID, NMK))
        while fake.requests < 3:
            await asyncio.sleep(POLL_S)
        assert not modem.link_up and changes.empty()
        fake.networks = [(NID, [])]  # our AVLN, nobody else in it yet
        await asyncio.sleep(3 * POLL_S)
        assert not modem.link_up
        fake.networks = [(NID, [PEER])]
        assert await asyncio.wait_for(changes.get(), 2.0) is True
        assert modem.peers == (PEER,)
        await modem.close()

    asyncio.run(scenario())


def test_no_polling_and_no_link_without_the_modems_confirmation() -> None:
    async def scenario() -> None:
        fake, modem = FakeModem(), _modem()
        fake.silent = True
        await _linked(modem, fake)
        fake.networks = [(NID, [PEER])]
        modem.send(hp.encode_set_key_req(HOST, NID, NMK))
        await asyncio.sleep(5 * POLL_S)
        assert fake.requests == 0 and not modem.link_up
        await modem.close()

    asyncio.run(scenario())


def test_link_goes_down_when_the_peer_is_gone_for_several_answers() -> None:
    async def scenario() -> None:
        fake, modem = FakeModem(), _modem()
        changes = await _linked(modem, fake)
        fake.networks = [(NID, [PEER])]
        modem.send(hp.encode_set_key_req(HOST, NID, NMK))
        assert await asyncio.wait_for(changes.get(), 2.0) is True
        asked = fake.requests
        fake.networks = [(NID, [])]
        assert await asyncio.wait_for(changes.get(), 2.0) is False
        assert fake.requests - asked >= LINK_LOSS_POLLS
        await modem.close()

    asyncio.run(scenario())


def test_gives_up_after_the_named_timeout() -> None:
    async def scenario() -> None:
        fake, modem = FakeModem(), _modem(link_up_timeout_s=10 * POLL_S)
        changes = await _linked(modem, fake)
        modem.send(hp.encode_set_key_req(HOST, NID, NMK))
        assert modem._poll is None  # only the modem's CNF starts the polling
        while modem._poll is None:
            await asyncio.sleep(POLL_S)
        await asyncio.wait_for(modem._poll, 2.0)  # stops by itself at link_up_timeout_s
        assert changes.empty() and not modem.link_up
        await modem.close()

    asyncio.run(scenario())


def test_network_info_layout_follows_open_plc_utils() -> None:
    """A VS_NW_INFO.CNF built byte by byte in the MMV 0 layout (NUMAVLNS; NID, SNID, TEI, ROLE,
    CCO_MAC, CCO_TEI, NUMSTAS; per station MAC, TEI, BDA, AVGTX, AVGRX) decodes to what it says."""
    station = bytes.fromhex("00b052ddeeff") + b"\x02" + bytes.fromhex("00b052ddeeff") + b"\x09\x09"
    network = NID + b"\x05\x01\x00" + bytes.fromhex("00b052aabbcc") + b"\x01" + b"\x01" + station
    body = b"\x00" + VS_NW_INFO_CNF.to_bytes(2, "little") + QCA_OUI + b"\x01" + network
    frame = ethernet_frame(HOST, MODEM, hp.ETHERTYPE_HOMEPLUG_AV, body)
    (info,) = decode_vs_nw_info_cnf(frame) or []
    assert (info.nid, info.role, info.cco_mac, info.stations) == (NID, 0, MODEM, (PEER,))
    assert decode_vs_nw_info_cnf(frame[:30]) is None
    assert decode_vs_nw_info_cnf(hp.encode_set_key_cnf(MODEM, HOST)) is None


@pytest.mark.parametrize("stations", [[], [PEER], [PEER, "00:b0:52:00:00:07"]])
def test_network_info_round_trip(stations: list[str]) -> None:
    (info,) = decode_vs_nw_info_cnf(vs_nw_info_cnf(MODEM, HOST, NID, stations, evse=True)) or []
    assert info.nid == NID and info.stations == tuple(stations)
