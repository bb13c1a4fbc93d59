"""Interop: josev's ISO 15118-20 EVCC against josev's ISO 15118-20 SECC, decoded by our analyser.

Needs none of our -20 protocol cores: both ends are josev (iso15118 0.31.2, started by
harness/dut/josev_dut.py as the lab configs josev-*-iso20.yaml do), the SECC in a network namespace, the
EVCC on the tester end of the veth pair, and our capture records the link. For DC and for DC_BPT
(Scheduled mode, EIM, no TLS):

* the session gets from SessionSetup through the charge loop to SessionStopRes, in ISO 15118-20's order;
* every V2GTP frame decodes with our EXI decoder (the timeline holds no decode error);
* in DC_BPT the BPT variants are on the wire (BPT_DC_CPDReq/ResEnergyTransferMode with the EVSE's
  discharge limits, discharging schedules in the schedule tuples, the BPT channel in PowerDeliveryReq,
  the BPT scheduled charge loop);
* josev's own decoder reads every EXI payload of the capture (supportedAppProtocol included) to the
  message ours reads, and our encoder writes that message back to josev's very bytes (EXI would allow
  other bytes for the same message; ours and EXIficient's agree bit for bit on every frame, 66 to 68
  per session in DC and DC_BPT), so josev reads what we write as it reads its own.

Needs root (network namespaces), Java 17 and, the first time, PyPI for josev's venv.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from capture.live import start_capture
from capture.reader import read_timeline
from harness.codec.v2g import exi_codec
from harness.codec.v2g.v2gtp import V2GTP_HEADER_LENGTH, decode_v2gtp_header
from harness.dut.adapters import ProcessCommand, ProcessDut
from harness.protocol.iso15118_20.messages import TYPICAL_DC_SESSION_REQUESTS
from harness.transport.netns import create_veth_link, destroy_veth_link

pytestmark = pytest.mark.interop

REPO_ROOT = Path(__file__).resolve().parents[2]
# josev's start-up includes its JVM warm-up (harness/dut/josev_dut.py): about 10 to 30 s on 2 cores
DUT_STARTUP_S = 180.0
# a whole josev -20 session (SDP to SessionStop) takes a few seconds; its EVCC logs the TCP close last
SESSION_TIMEOUT_S = 120.0
SESSION_CLOSED = "TCP connection closed to peer"
LAUNCHER = (sys.executable, "-m", "harness.dut.josev_dut")

# ISO 15118-20 DC, Scheduled mode, EIM: the requests of a session in their order (8.8.x message
# sequencing); the pre-charge and the charge loop repeat.
DC_SEQUENCE = list(TYPICAL_DC_SESSION_REQUESTS)
# josev's SECC offers DC (2) and DC_BPT (6), ISO 15118-20 Table 204
SERVICE_IDS = {"DC": 2, "DC_BPT": 6}


@pytest.fixture(scope="module", autouse=True)
def _requirements() -> None:
    if os.geteuid() != 0:
        pytest.skip("josev runs in its own network namespace on a veth pair: needs root")
    if shutil.which("java") is None:
        pytest.skip("java not found: josev's EXI codec (EXIficient) needs Java 17")
    from harness.dut.josev_env import josev_python

    josev_python()  # build the venv once, outside the DUT start timeout


@pytest.fixture(scope="module")
def josev_codec():
    from harness.dut.josev_env import JosevExiBridge

    with JosevExiBridge() as bridge:
        yield bridge


def _josev(role: str, interface: str, *args: str) -> ProcessCommand:
    return ProcessCommand(
        command=(*LAUNCHER, role, "--interface", "{interface}", "--protocol", "iso15118-20", *args),
        interface=interface,
        lab_dir=REPO_ROOT / "lab_configs",
        ready_pattern="UDP server socket ready" if role == "secc" else "READY josev evcc",
        startup_s=DUT_STARTUP_S,
    )


def _wait_for_line(log: Path, text: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(encoding="utf-8", errors="replace"):
            return True
        time.sleep(0.2)
    return False


def _josev_session(out: Path, energy_service: str) -> Path:
    """Run one josev EVCC -> josev SECC session over a fresh veth pair; returns the capture."""
    out.mkdir(parents=True, exist_ok=True)
    pcap = out / "josev-iso20.pcapng"
    link = create_veth_link()
    capture = secc = evcc = None
    try:
        capture, _ = start_capture("packet", link.tester_interface, pcap)
        secc = ProcessDut(_josev("secc", link.dut_interface), link.netns)
        secc.start("secc", out / "secc.log")
        evcc = ProcessDut(_josev("evcc", link.tester_interface, "--energy-service", energy_service), None)
        evcc.start("evcc", out / "evcc.log")
        closed = _wait_for_line(out / "evcc.log", SESSION_CLOSED, SESSION_TIMEOUT_S)
        assert closed, f"josev's EVCC did not close its session in {SESSION_TIMEOUT_S:g} s; see {out}"
    finally:
        for process in (evcc, secc):
            if process is not None:
                process.stop()
        if capture is not None:
            capture.stop()
        destroy_veth_link(link)
    return pcap


def _v2gtp_payloads(pcap: Path) -> list[tuple[int, bytes]]:
    """(payload type, EXI body) of every V2GTP frame in the capture, each TCP direction read in sequence
    order (one clean veth link: no loss, retransmissions dropped by sequence number)."""
    from scapy.layers.inet import TCP
    from scapy.layers.inet6 import IPv6
    from scapy.utils import PcapNgReader

    segments: dict[tuple, dict[int, bytes]] = {}
    with PcapNgReader(str(pcap)) as reader:
        for packet in reader:
            if IPv6 in packet and TCP in packet and bytes(packet[TCP].payload):
                key = (packet[IPv6].src, packet[TCP].sport, packet[IPv6].dst, packet[TCP].dport)
                segments.setdefault(key, {})[packet[TCP].seq] = bytes(packet[TCP].payload)
    frames = []
    for by_seq in segments.values():
        data = b"".join(by_seq[seq] for seq in sorted(by_seq))
        pos = 0
        while len(data) - pos >= V2GTP_HEADER_LENGTH:
            _, _, payload_type, length = decode_v2gtp_header(data[pos : pos + V2GTP_HEADER_LENGTH])
            start = pos + V2GTP_HEADER_LENGTH
            frames.append((payload_type, data[start : start + length]))
            pos = start + length
    return frames


def _requests(timeline) -> list[str]:
    names = [
        e.message for e in timeline if e.protocol in ("AppProtocol", "ISO-20") and e.message.endswith("Req")
    ]
    # collapse the repetitions of a looping request (pre-charge, charge loop)
    return [name for i, name in enumerate(names) if i == 0 or names[i - 1] != name]


@pytest.mark.parametrize("energy_service", ["DC", "DC_BPT"])
def test_josev_iso20_session_decodes_with_our_codec(tmp_path, energy_service, josev_codec):
    pcap = _josev_session(tmp_path / energy_service, energy_service)
    timeline = read_timeline(pcap)

    errors = [(e.frame, e.message, e.error) for e in timeline if e.error]
    assert not errors, errors
    v2g = [e for e in timeline if e.protocol in ("AppProtocol", "ISO-20")]
    assert _requests(timeline) == DC_SEQUENCE, [e.message for e in v2g]
    assert v2g[-1].message == "SessionStopRes", v2g[-1]
    assert v2g[-1].fields["SessionStopRes"]["ResponseCode"] == "OK"
    negotiated = next(e for e in v2g if e.message == "supportedAppProtocolRes")
    assert negotiated.fields["supportedAppProtocolRes"]["ResponseCode"] == "OK_SuccessfulNegotiation"
    loops = [e for e in v2g if e.message == "DC_ChargeLoopReq"]
    assert len(loops) >= 2, "josev's EV runs several charge loop cycles"
    selection = next(e for e in v2g if e.message == "ServiceSelectionReq").fields["ServiceSelectionReq"]
    assert selection["SelectedEnergyTransferService"]["ServiceID"] == SERVICE_IDS[energy_service]

    def body(name: str) -> dict:
        return next(e for e in v2g if e.message == name).fields[name]

    cpd_req, cpd_res = body("DC_ChargeParameterDiscoveryReq"), body("DC_ChargeParameterDiscoveryRes")
    loop_req, loop_res = body("DC_ChargeLoopReq"), body("DC_ChargeLoopRes")
    if energy_service == "DC_BPT":
        assert "BPT_DC_CPDReqEnergyTransferMode" in cpd_req, cpd_req
        res_mode = cpd_res["BPT_DC_CPDResEnergyTransferMode"]
        assert {"EVSEMaximumDischargePower", "EVSEMaximumDischargeCurrent"} <= set(res_mode), res_mode
        assert "BPT_Scheduled_DC_CLReqControlMode" in loop_req, loop_req
        assert "BPT_Scheduled_DC_CLResControlMode" in loop_res, loop_res
        # Scheduled mode: each schedule tuple may carry a discharging schedule; the EV picks the channel
        tuples = body("ScheduleExchangeRes")["Scheduled_SEResControlMode"]["ScheduleTuple"]
        assert all("DischargingSchedule" in schedule for schedule in tuples), tuples
        assert body("PowerDeliveryReq")["BPT_ChannelSelection"] == "Charge"
        # josev 0.31.2's deviation, pinned so that a change shows: a DC_BPT parameter set carries BPTChannel
        # and GeneratorMode besides the DC parameters (ISO 15118-20 8.4.3.2); josev's lists neither
        offered = body("ServiceDetailRes")["ServiceParameterList"]["ParameterSet"]
        names = {parameter["Name"] for parameter_set in offered for parameter in parameter_set["Parameter"]}
        assert {"Connector", "ControlMode", "MobilityNeedsMode", "Pricing"} <= names, names
        assert not {"BPTChannel", "GeneratorMode"} & names, f"josev now offers {names}: update this note"
    else:
        assert "DC_CPDReqEnergyTransferMode" in cpd_req, cpd_req
        assert "DC_CPDResEnergyTransferMode" in cpd_res, cpd_res
        assert "Scheduled_DC_CLReqControlMode" in loop_req, loop_req
        assert "Scheduled_DC_CLResControlMode" in loop_res, loop_res

    # josev's decoder and ours read every payload alike, and our encoder gives josev's bytes back
    frames = _v2gtp_payloads(pcap)
    assert len(frames) == len(v2g), (len(frames), len(v2g))
    namespaces = {schema: ns for ns, schema in exi_codec.NAMESPACE_SCHEMAS.items()}
    for payload_type, exi in frames:
        # 0x8001 carries only the handshake here: the -20 messages have payload types of their own
        schema = exi_codec.schema_for(payload_type=payload_type) or "app"
        ours = exi_codec.decode(schema, exi)
        assert josev_codec.decode(exi, namespaces[schema]) == ours, (schema, exi.hex())
        assert exi_codec.encode(schema, ours).hex() == exi.hex(), (schema, ours)
