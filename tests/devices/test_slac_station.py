"""SlacStation (a SLAC core on a modem, run by the kernel's CoreDriver) with an in-memory stand-in for
the modem, and the SLAC configs the reference devices build from DeviceSettings."""

from __future__ import annotations

import asyncio
from types import MappingProxyType

import pytest

from harness.codec import homeplug as hp
from harness.codec.homeplug import decode_slac
from harness.devices.settings import DeviceSettings
from harness.devices.slac_ev import ev_slac_config
from harness.devices.slac_evse import evse_slac_config
from harness.devices.slac_station import SlacStation
from harness.protocol.faults import Delay, Drop, FaultInjector
from harness.protocol.slac import EvseSlac, EvseSlacConfig, EvseState, MatchFailed, Start, Stop
from harness.protocol.slac import constants as c
from harness.protocol.slac.faults import sends
from harness.transport.raw_ethernet import EthernetFrame

EVSE = "02:00:00:00:01:01"
EV = "02:00:00:00:00:01"
RUN_ID = bytes(range(1, 9))


class FakeModem:
    """What SlacStation uses of a modem: the two callbacks and send()."""

    def __init__(self) -> None:
        self.on_frame = lambda frame: None
        self.on_link = lambda up: None
        self.sent: list[bytes] = []
        self.sent_one = asyncio.Event()

    def send(self, frame: bytes) -> None:
        self.sent.append(frame)
        self.sent_one.set()

    def names(self) -> list[str]:
        return [decode_slac(frame).name for frame in self.sent]

    def hand_up(self, frame: bytes) -> None:
        self.on_frame(EthernetFrame(frame, 0.0))


class SteppedClock:
    """A clock the test advances by hand (the driver's loop timer still runs on the loop's clock)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def evse_core(**overrides) -> EvseSlac:
    return EvseSlac(EvseSlacConfig(mac=EVSE, key_factory=lambda: (bytes(7), bytes(16)), **overrides))


def with_station(check, core: EvseSlac, modem: FakeModem, **station_args) -> None:
    """Run the coroutine function ``check(station, modem)`` with a station on a fresh loop, then close
    the station."""

    async def scenario() -> None:
        station = SlacStation(core, modem, **station_args)
        try:
            await check(station, modem)
        finally:
            station.close()

    asyncio.run(scenario())


def test_frames_and_the_key_go_to_the_modem_and_outcomes_are_recorded() -> None:
    seen: list[object] = []

    async def check(station: SlacStation, modem: FakeModem) -> None:
        station.post(Start())
        assert modem.names() == ["CM_SET_KEY.REQ"]
        modem.hand_up(hp.encode_slac_parm_req(EV, RUN_ID))
        assert modem.names()[-1] == "CM_SLAC_PARM.CNF"
        assert station.core.state is EvseState.WAIT_START_ATTEN
        modem.hand_up(b"\x00" * 60)  # not a SLAC frame: ignored
        station.post(Stop("unplugged"))
        station.post(Start())
        # TT_EVSE_SLAC_init (50 ms here) runs out on the driver's loop timer.
        failed = await station.wait_for((MatchFailed,), 2.0)
        assert isinstance(failed, MatchFailed) and "TT_EVSE_SLAC_init" in failed.reason
        assert seen == [failed] and [a for _, a in station.outcomes] == [failed]

    with_station(check, evse_core(slac_init_s=0.05), FakeModem(), on_outcome=seen.append)


def test_a_match_and_the_modem_losing_the_link_afterwards() -> None:
    async def check(station: SlacStation, modem: FakeModem) -> None:
        station.post(Start())
        modem.hand_up(hp.encode_slac_parm_req(EV, RUN_ID))
        modem.hand_up(hp.encode_start_atten_char_ind(EV, RUN_ID, num_sounds=1, time_out=6))
        modem.hand_up(hp.encode_atten_profile_ind("02:00:00:00:01:ff", EV, [20] * hp.ATTEN_GROUPS, dst=EVSE))
        assert decode_slac(modem.sent[-1]).name == "CM_ATTEN_CHAR.IND"
        modem.hand_up(hp.encode_atten_char_rsp(EV, EVSE, RUN_ID))
        modem.hand_up(hp.encode_slac_match_req(EV, EVSE, RUN_ID))
        assert station.core.state is EvseState.MATCHED
        modem.on_link(True)
        modem.on_link(False)
        assert station.core.state is EvseState.WAIT_PARM_REQ  # ready for the EV to match again

    with_station(check, evse_core(num_sounds=1), FakeModem())


def test_timers_count_from_when_the_frame_went_out() -> None:
    clock = SteppedClock()

    class SlowModem(FakeModem):
        def send(self, frame: bytes) -> None:
            super().send(frame)
            clock.now += 0.004  # putting the frame on the wire takes 4 ms

    async def check(station: SlacStation, modem: FakeModem) -> None:
        station.post(Start())
        handled_at = clock.now
        modem.hand_up(hp.encode_slac_parm_req(EV, RUN_ID))
        deadline = station.core.timers.deadlines["TT_match_sequence"]
        # armed at handling time + TT_match_sequence, then moved by the 4 ms the CNF took
        assert deadline == pytest.approx(handled_at + c.TT_match_sequence + 0.004)

    with_station(check, evse_core(), SlowModem(), clock=clock)


def test_faults_apply_to_the_station_and_delays_are_released_by_the_kernel_timer() -> None:
    injector = FaultInjector()
    injector.add(Drop(sends("CM_SLAC_PARM.CNF"), times=1))
    injector.add(Delay(sends("CM_SLAC_PARM.CNF"), times=1, seconds=0.05))

    async def check(station: SlacStation, modem: FakeModem) -> None:
        assert station.injector is injector
        station.post(Start())
        modem.hand_up(hp.encode_slac_parm_req(EV, RUN_ID))
        assert modem.names() == ["CM_SET_KEY.REQ"]  # the first CNF dropped
        modem.hand_up(hp.encode_slac_parm_req(EV, RUN_ID))
        assert modem.names() == ["CM_SET_KEY.REQ"]  # the second held back
        modem.sent_one.clear()
        await asyncio.wait_for(modem.sent_one.wait(), 2.0)  # released by the driver's timer
        assert modem.names() == ["CM_SET_KEY.REQ", "CM_SLAC_PARM.CNF"]
        assert [kind for _, kind, _ in injector.log] == ["Drop", "Delay"]

    with_station(check, evse_core(), FakeModem(), injector=injector)


def test_closed_station_ignores_events() -> None:
    async def check(station: SlacStation, modem: FakeModem) -> None:
        station.close()
        station.post(Start())
        assert modem.sent == [] and station.core.state is EvseState.IDLE

    with_station(check, evse_core(), FakeModem())


def settings(**timers: float) -> DeviceSettings:
    return DeviceSettings(timers=MappingProxyType(timers), supported=frozenset({"slac", "slac.validate"}))


def test_ev_config_takes_timers_and_pics_from_the_settings() -> None:
    names = [
        "TT_match_response",
        "TP_EV_batch_msg_interval",
        "TT_EV_atten_results",
        "TT_match_join",
        "TT_matching_rate",
        "TP_EV_vald_state_duration",
        "TP_EV_vald_toggle",
    ]
    config = ev_slac_config(EV, settings(**{name: index + 0.5 for index, name in enumerate(names)}))
    assert config.mac == EV and config.validate
    assert [
        config.match_response_s,
        config.batch_interval_s,
        config.atten_results_s,
        config.match_join_s,
        config.matching_rate_s,
        config.vald_state_duration_s,
        config.vald_toggle_s,
    ] == [index + 0.5 for index in range(len(names))]


def test_evse_config_takes_timers_and_pics_from_the_settings() -> None:
    values = {
        "TT_EVSE_SLAC_init": 30.0,
        "TT_match_sequence": 0.5,
        "TT_EVSE_match_MNBC": 0.7,
        "TT_match_response": 0.3,
        "TT_EVSE_match_session": 9.0,
    }
    config = evse_slac_config(EVSE, settings(**values))
    assert config.validate_supported
    assert (
        config.slac_init_s,
        config.match_sequence_s,
        config.match_mnbc_s,
        config.match_response_s,
        config.match_session_s,
    ) == tuple(values.values())
    without = DeviceSettings(timers=MappingProxyType(values))
    assert not evse_slac_config(EVSE, without).validate_supported
    with pytest.raises(KeyError, match="TT_match_sequence"):
        evse_slac_config(EVSE, DeviceSettings(timers=MappingProxyType({"TT_EVSE_SLAC_init": 30.0})))
