"""josev (iso15118 0.31.2) as a DUT: its DIN SPEC 70121, ISO 15118-2 or ISO 15118-20 SECC or EVCC, started
by the `process` adapter.

    python -m harness.dut.josev_dut secc --interface vgi-dut0 [--protocol iso15118-2]
    python -m harness.dut.josev_dut evcc --interface vgi-dut0 --protocol iso15118-20 --energy-service DC_BPT
    python -m harness.dut.josev_dut secc --interface vgi-dut0 --protocol iso15118-2 --tls [--v2g-pki DIR]

runs inside the DUT's network namespace (the adapter prefixes ``ip netns exec``). It takes josev's venv
from :mod:`harness.dut.josev_env` (built on first use), configures josev through its environment variables
(josev reads them, or a ``.env`` in its working directory, with ``environs``): the veth interface (josev
needs the name of an interface with an IPv6 link-local address), one protocol (``--protocol``: DIN SPEC
70121 by default, ISO 15118-2 DC, or ISO 15118-20 DC), external identification (EIM), no TLS unless
``--tls``; then it starts josev's own SECC or EVCC handler with josev's simulated EVSE/EV controller.

ISO 15118-2 with ``--tls``: the lab's ISO 15118-2 test PKI (``vgi pki init --v2g``; ``--v2g-pki DIR``, else
the reference devices' default, :func:`harness.devices.v2g_credentials.v2g_pki_directory`) laid out where
josev 0.31.2 looks for it (:func:`josev_tls_layout`). The SECC presents the lab's SECC chain (leaf, CPO
Sub-CA 2, Sub-CA 1) and answers an SECCDiscoveryReq asking for TLS with its TLS server's port (one asking
for none still gets plain TCP: josev's SECC grants what the EV asks); the EVCC asks for TLS in its
SECCDiscoveryReq and verifies the SECC's chain to the lab's V2G root. josev's TLS 1.3 stays off (its
default), so both speak TLS 1.2 as ISO 15118-2 has it.

ISO 15118-20: josev's SECC offers the DC and DC_BPT services (its simulator's fixed service list); its EVCC
asks for the one ``--energy-service`` names (DC by default) and takes the first parameter set the SECC
offers, josev's Scheduled control mode. josev runs -20 without TLS only in this simulation mode (ISO
15118-20 makes TLS 1.3 mandatory).

JVM warm-up, as a lab does before timing-critical tests: josev encodes and decodes every message through
EXIficient in a JVM (py4j). A cold JVM interprets that code and its first CurrentDemand round trips take
hundreds of milliseconds; a lab exercises the codec before the device under test goes on the bench. This
launcher hands josev a codec instance that has already encoded and decoded every message type of the
protocol once and the charge loop request (CurrentDemandReq, or DC_ChargeLoopReq in ISO 15118-20)
``--warmup`` times (default :data:`WARMUP_ROUNDS`), in josev's own process and JVM, so what the scenarios
measure is josev warm, not its JIT compiler. ``--warmup 0`` measures it cold.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from harness.dut.josev_env import java_path, josev_python

# CurrentDemandReq encode+decode round trips before josev starts (after one of every DIN message type):
# measured in josev's process on the 2-core CI machine, one EXIficient call takes ~250 ms cold, ~35 ms
# after 20 calls and ~17 ms after a few hundred, where it levels off; 150 round trips (300 calls, about
# 10 s) get it onto that plateau without making every scenario's DUT start take minutes.
WARMUP_ROUNDS = 150
# The launcher's protocols (PICS names): josev's name of each (its Protocol enum, as its PROTOCOLS
# environment variable and its EVCC config's supportedProtocols take them).
JOSEV_PROTOCOLS = {
    "din70121": "DIN_SPEC_70121",
    "iso15118-2": "ISO_15118_2",
    "iso15118-20": "ISO_15118_20_DC",
}
# The request each protocol's charge loop repeats: the one warmed up ``--warmup`` times.
CHARGE_LOOP_REQUESTS = {
    "din70121": "CurrentDemandReq",
    "iso15118-2": "CurrentDemandReq",
    "iso15118-20": "DC_ChargeLoopReq",
}
# ISO 15118-20 energy services (josev's ServiceV20 names, ISO 15118-20 Table 204) josev's EVCC may ask for.
ISO20_ENERGY_SERVICES = ("DC", "DC_BPT")
# Where josev 0.31.2 reads its ISO 15118-2 TLS material, under its PKI_PATH (its security module's
# CertPath, KeyPath and KeyPasswordPath): the SECC's chain as one PEM (leaf first), its key, a password
# file for the key (empty: the key is not encrypted), and the V2G root its EVCC trusts.
JOSEV_ISO2_CERTS = "iso15118_2/certs"
JOSEV_ISO2_KEYS = "iso15118_2/private_keys"
JOSEV_SECC_CHAIN = "cpoCertChain.pem"
JOSEV_SECC_KEY = "seccLeaf.key"
JOSEV_SECC_KEY_PASSWORD = "seccLeafPassword.txt"
JOSEV_V2G_ROOT = "v2gRootCACert.pem"

# josev's EVCC configuration for a DC session (its JSON config file format); supportedProtocols is set
# from --protocol.
EVCC_CONFIG = {
    "supportedProtocols": ["DIN_SPEC_70121"],
    "energyTransferMode": "DC_extended",
    "supportedEnergyServices": ["DC"],
    "isCertInstallNeeded": False,
    "useTls": False,
    "sdpRetryCycles": 10,
    "chargeLoopCycle": 10,
}

# Runs in josev's venv: warm the codec up with the DIN messages of a DC session (as josev's own
# EXIficient prints them), then run josev's SECC or EVCC main with that codec.
_BOOTSTRAP = r"""
import asyncio, json, sys, time
from iso15118.shared.exificient_exi_codec import ExificientEXICodec

role, rounds, samples, evcc_config_path = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
charge_loop = sys.argv[5]
codec = ExificientEXICodec()
t0 = time.perf_counter()
for namespace, text in samples:
    codec.decode(bytes(codec.encode(text, namespace)), namespace)
hot = [sample for sample in samples if charge_loop in sample[1]]
for _ in range(rounds):
    for namespace, text in hot:
        codec.decode(bytes(codec.encode(text, namespace)), namespace)
print(f"josev JVM warm-up: {len(samples)} sample messages, then {rounds * len(hot)} {charge_loop} "
      f"round trips, in {time.perf_counter() - t0:.1f} s", flush=True)

async def secc():
    from iso15118.secc import SECCHandler
    from iso15118.secc.controller.interface import ServiceStatus
    from iso15118.secc.controller.simulator import SimEVSEController
    from iso15118.secc.secc_settings import Config

    class BenchEVSEController(SimEVSEController):
        # josev's simulated power stage states 40 V / 40 A and never moves its output; the bench's stands
        # for a 50 kW, 500 V / 125 A charger whose output follows the EV's targets (josev's protocol code
        # is what is under test, the power electronics are the integrator's).
        async def get_dc_charge_parameters(self):
            p = await super().get_dc_charge_parameters()
            def pv(old, value, multiplier=0):
                return type(old)(multiplier=multiplier, value=value, unit=old.unit)
            return p.copy(update={
                "evse_maximum_power_limit": pv(p.evse_maximum_power_limit, 5000, 1),
                "evse_maximum_current_limit": pv(p.evse_maximum_current_limit, 125),
                "evse_maximum_voltage_limit": pv(p.evse_maximum_voltage_limit, 500),
                "evse_minimum_current_limit": pv(p.evse_minimum_current_limit, 0),
                "evse_minimum_voltage_limit": pv(p.evse_minimum_voltage_limit, 50),
                "evse_peak_current_ripple": pv(p.evse_peak_current_ripple, 2),
            })

        async def get_dc_charge_params_v20(self, energy_service):
            # the same 50 kW, 500 V / 125 A stage in ISO 15118-20 (josev's simulator states 1 kW), and
            # in DC_BPT the same back to the grid
            p = await super().get_dc_charge_params_v20(energy_service)
            rational = type(p.evse_max_charge_power).get_rational_repr
            limits = {"evse_max_charge_power": 50000, "evse_min_charge_power": 0,
                      "evse_max_charge_current": 125, "evse_min_charge_current": 0,
                      "evse_max_voltage": 500, "evse_min_voltage": 50}
            if hasattr(p, "evse_max_discharge_power"):
                limits.update({"evse_max_discharge_power": 50000, "evse_min_discharge_power": 0,
                               "evse_max_discharge_current": 125, "evse_min_discharge_current": 0})
            return p.copy(update={name: rational(value) for name, value in limits.items()})

        async def send_charging_command(self, ev_target_voltage=None, ev_target_current=None,
                                        is_precharge=False, is_session_bpt=False):
            if ev_target_voltage is not None:
                self.evse_data_context.present_voltage = int(round(min(ev_target_voltage, 500)))
            if ev_target_current is not None:
                self.evse_data_context.present_current = int(round(min(ev_target_current, 125)))

        def _output_off(self):
            self.evse_data_context.present_current = 0
            self.evse_data_context.present_voltage = 0

        async def stop_charger(self):
            self._output_off()
            await super().stop_charger()

        async def session_ended(self, current_state, reason):
            # however the session ended (a reset included), the power stage switches its output off
            self._output_off()
            await super().session_ended(current_state, reason)

    config = Config()
    config.load_envs()
    controller = BenchEVSEController()
    await controller.set_status(ServiceStatus.STARTING)
    await SECCHandler(exi_codec=codec, evse_controller=controller, config=config).start(config.iface)

async def evcc():
    from iso15118.evcc import Config, EVCCHandler
    from iso15118.evcc.controller.simulator import SimEVController
    from iso15118.evcc.evcc_config import load_from_file
    config = Config()
    config.load_envs()
    evcc_config = await load_from_file(evcc_config_path)
    print("READY josev evcc", flush=True)
    await EVCCHandler(evcc_config=evcc_config, iface=config.iface, exi_codec=codec,
                      ev_controller=SimEVController(evcc_config)).start()

try:
    asyncio.run(secc() if role == "secc" else evcc())
except KeyboardInterrupt:
    pass
"""


def _rational(value: int, exponent: int = 0) -> dict[str, int]:
    return {"Exponent": exponent, "Value": value}


def iso20_warmup_requests() -> list[tuple[str, dict]]:
    """(schema, message) of every request of an ISO 15118-20 DC and DC_BPT session in Scheduled mode with
    EIM, in the codec's dict shape: small hand-made samples for the JVM warm-up only (no -20 message
    builders to take them from yet), valid against the schemas (the codec encodes them strictly)."""
    header = {"SessionID": "0123456789ABCDEF", "TimeStamp": 1700000000}
    limits = {
        "EVMaximumChargePower": _rational(50, 3),
        "EVMinimumChargePower": _rational(0),
        "EVMaximumChargeCurrent": _rational(125),
        "EVMinimumChargeCurrent": _rational(0),
        "EVMaximumVoltage": _rational(500),
        "EVMinimumVoltage": _rational(200),
    }
    discharge_limits = {
        "EVMaximumDischargePower": _rational(11, 3),
        "EVMinimumDischargePower": _rational(0),
        "EVMaximumDischargeCurrent": _rational(30),
        "EVMinimumDischargeCurrent": _rational(0),
    }
    targets = {"EVTargetCurrent": _rational(100), "EVTargetVoltage": _rational(400)}
    loop = {"Header": header, "MeterInfoRequested": False, "EVPresentVoltage": _rational(400)}
    common = [
        ("SessionSetupReq", {"Header": {**header, "SessionID": "00" * 8}, "EVCCID": "WMIV1234567890ABCDEX"}),
        ("AuthorizationSetupReq", {"Header": header}),
        (
            "AuthorizationReq",
            {"Header": header, "SelectedAuthorizationService": "EIM", "EIM_AReqAuthorizationMode": {}},
        ),
        ("ServiceDiscoveryReq", {"Header": header}),
        ("ServiceDetailReq", {"Header": header, "ServiceID": 6}),
        (
            "ServiceSelectionReq",
            {"Header": header, "SelectedEnergyTransferService": {"ServiceID": 6, "ParameterSetID": 1}},
        ),
        (
            "ScheduleExchangeReq",
            {"Header": header, "MaximumSupportingPoints": 1024, "Scheduled_SEReqControlMode": {}},
        ),
        (
            "PowerDeliveryReq",
            {
                "Header": header,
                "EVProcessing": "Finished",
                "ChargeProgress": "Start",
                "BPT_ChannelSelection": "Charge",
            },
        ),
        ("SessionStopReq", {"Header": header, "ChargingSession": "Terminate"}),
    ]
    dc = [
        ("DC_ChargeParameterDiscoveryReq", {"Header": header, "DC_CPDReqEnergyTransferMode": limits}),
        (
            "DC_ChargeParameterDiscoveryReq",
            {"Header": header, "BPT_DC_CPDReqEnergyTransferMode": {**limits, **discharge_limits}},
        ),
        ("DC_CableCheckReq", {"Header": header}),
        (
            "DC_PreChargeReq",
            {
                "Header": header,
                "EVProcessing": "Ongoing",
                "EVPresentVoltage": _rational(350),
                "EVTargetVoltage": _rational(400),
            },
        ),
        ("DC_ChargeLoopReq", {**loop, "Scheduled_DC_CLReqControlMode": targets}),
        ("DC_ChargeLoopReq", {**loop, "BPT_Scheduled_DC_CLReqControlMode": targets}),
        ("DC_WeldingDetectionReq", {"Header": header, "EVProcessing": "Finished"}),
    ]
    return [("iso20-common", {name: body}) for name, body in common] + [
        ("iso20-dc", {name: body}) for name, body in dc
    ]


def warmup_samples(protocol: str = "din70121") -> list[tuple[str, str]]:
    """(namespace, JSON text) of every request type of ``protocol``'s DC session, in josev's JSON form
    (EXIficient's)."""
    from harness.codec.v2g import exi_codec

    if protocol == "iso15118-20":
        namespaces = {schema: namespace for namespace, schema in exi_codec.NAMESPACE_SCHEMAS.items()}
        # through our codec and back, as below: the JSON then has exactly the codec's shape
        return [
            (namespaces[schema], json.dumps(exi_codec.decode(schema, exi_codec.encode(schema, message))))
            for schema, message in iso20_warmup_requests()
        ]
    from harness.protocol.dc_profiles import dc_profile
    from harness.protocol.din70121.faults import request_template
    from harness.protocol.din70121.messages import DIN_REQUESTS, v2g_message
    from harness.protocol.timers import TIMERS

    profile = dc_profile(protocol, lambda name: TIMERS[name].default_s)
    samples = []
    for name in (profile.wire(request) for request in DIN_REQUESTS):
        message = v2g_message("0123456789ABCDEF", name, request_template(name, profile=profile))
        # our codec and josev's agree bit for bit (tests/interop/test_exi_josev.py); round-trip through
        # ours so the JSON has exactly the codec's shape
        text = json.dumps(exi_codec.decode(profile.schema, exi_codec.encode(profile.schema, message)))
        samples.append((profile.protocol.namespace, text))
    return samples


def evcc_configuration(protocol: str, energy_service: str = "DC", tls: bool = False) -> dict:
    """josev's EVCC config file content: the one protocol and, in ISO 15118-20, the one energy service;
    with ``tls`` its SECCDiscoveryReq asks for TLS (josev's useTls)."""
    config = {**EVCC_CONFIG, "supportedProtocols": [JOSEV_PROTOCOLS[protocol]], "useTls": tls}
    if protocol == "iso15118-20":
        config["supportedEnergyServices"] = [energy_service]
    return config


def josev_tls_layout(pki_path: Path, v2g_pki: Path) -> None:
    """Copy the lab's ISO 15118-2 SECC chain, its key and the V2G root from the PKI in ``v2g_pki``
    (``vgi pki init --v2g``) into josev's layout under its PKI_PATH ``pki_path``."""
    from harness.devices.v2g_credentials import ensure_v2g_pki
    from harness.pki.v2g import load_v2g_credentials

    credentials = load_v2g_credentials(ensure_v2g_pki(v2g_pki))
    certs, keys = pki_path / JOSEV_ISO2_CERTS, pki_path / JOSEV_ISO2_KEYS
    certs.mkdir(parents=True, exist_ok=True)
    keys.mkdir(parents=True, exist_ok=True)
    (certs / JOSEV_SECC_CHAIN).write_bytes(Path(credentials.chain_path).read_bytes())
    (certs / JOSEV_V2G_ROOT).write_bytes(Path(credentials.trust_anchor_path).read_bytes())
    (keys / JOSEV_SECC_KEY).write_bytes(Path(credentials.key_path).read_bytes())
    (keys / JOSEV_SECC_KEY_PASSWORD).write_text("")


def josev_environment(interface: str, workdir: Path, protocol: str = "din70121") -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(
        {
            "NETWORK_INTERFACE": interface,
            "PROTOCOLS": JOSEV_PROTOCOLS[protocol],
            "AUTH_MODES": "EIM",
            "SECC_ENFORCE_TLS": "false",
            # josev's TLS stays 1.2 (its default, set here so no inherited setting changes it): ISO 15118-2
            # has TLS 1.2 only, and josev's 1.3 mode would ask the EV for an OEM certificate.
            "ENABLE_TLS_1_3": "false",
            "LOG_LEVEL": "INFO",
            # josev logs every message as JSON by default; that is logging, not the device, so it is off
            # (the timing judged is josev's protocol path).
            "MESSAGE_LOG_JSON": "false",
            "PKI_PATH": str(workdir / "pki") + "/",
        }
    )
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.dut.josev_dut", description=__doc__.split("\n")[0]
    )
    parser.add_argument("role", choices=("secc", "evcc"))
    parser.add_argument("--interface", required=True, help="the DUT-side interface (IPv6 link-local)")
    parser.add_argument("--warmup", type=int, default=WARMUP_ROUNDS, help="codec rounds before josev starts")
    parser.add_argument(
        "--protocol",
        choices=sorted(JOSEV_PROTOCOLS),
        default="din70121",
        help="the one protocol josev offers or accepts in supportedAppProtocol (default din70121)",
    )
    parser.add_argument(
        "--energy-service",
        choices=ISO20_ENERGY_SERVICES,
        help="ISO 15118-20 only, evcc only: the energy service josev's EV asks for (default DC); "
        "josev's SECC always offers DC and DC_BPT",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="ISO 15118-2 only: the SECC serves TLS to an EV asking for it, the EVCC asks for TLS; "
        "certificates from the lab's ISO 15118-2 PKI",
    )
    parser.add_argument(
        "--v2g-pki",
        type=Path,
        help="with --tls: the lab's ISO 15118-2 PKI directory (vgi pki init --v2g; default: the reference "
        "devices' default, made on first use)",
    )
    args = parser.parse_args(argv)
    if args.energy_service is not None and (args.role != "evcc" or args.protocol != "iso15118-20"):
        parser.error("--energy-service is for the evcc with --protocol iso15118-20")
    if args.tls and args.protocol != "iso15118-2":
        parser.error(
            "--tls is for --protocol iso15118-2 (DIN SPEC 70121 has no TLS; josev's -20 TLS 1.3 is not wired)"
        )
    if args.v2g_pki is not None and not args.tls:
        parser.error("--v2g-pki goes with --tls")
    java_path()
    python = josev_python()
    # josev reads .env from its working directory: give it an empty one of its own.
    workdir = Path(tempfile.mkdtemp(prefix=f"josev-{args.role}-"))
    (workdir / "pki").mkdir()
    if args.tls:
        from harness.devices.v2g_credentials import v2g_pki_directory

        josev_tls_layout(workdir / "pki", args.v2g_pki or v2g_pki_directory())
    config_path = workdir / "evcc_config.json"
    evcc_config = evcc_configuration(args.protocol, args.energy_service or "DC", tls=args.tls)
    config_path.write_text(json.dumps(evcc_config))
    os.chdir(workdir)
    print(f"josev {args.role} on {args.interface}, venv {python}", flush=True)
    os.execve(
        str(python),
        [
            str(python),
            "-c",
            _BOOTSTRAP,
            args.role,
            str(args.warmup),
            json.dumps(warmup_samples(args.protocol)),
            str(config_path),
            CHARGE_LOOP_REQUESTS[args.protocol],
        ],
        josev_environment(args.interface, workdir, args.protocol),
    )
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
