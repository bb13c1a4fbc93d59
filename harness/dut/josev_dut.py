"""josev (iso15118 0.31.2) as a DUT: its DIN SPEC 70121 or ISO 15118-2 SECC or EVCC, started by the
`process` adapter.

    python -m harness.dut.josev_dut secc --interface vgi-dut0 [--protocol iso15118-2]

runs inside the DUT's network namespace (the adapter prefixes ``ip netns exec``). It takes josev's venv
from :mod:`harness.dut.josev_env` (built on first use), configures josev through its environment variables
(josev reads them, or a ``.env`` in its working directory, with ``environs``): the veth interface (josev
needs the name of an interface with an IPv6 link-local address), one protocol (``--protocol``: DIN SPEC
70121 by default, or ISO 15118-2 DC), external identification (EIM), no TLS; then it starts josev's own
SECC or EVCC handler with josev's simulated EVSE/EV controller.

JVM warm-up, as a lab does before timing-critical tests: josev encodes and decodes every message through
EXIficient in a JVM (py4j). A cold JVM interprets that code and its first CurrentDemand round trips take
hundreds of milliseconds; a lab exercises the codec before the device under test goes on the bench. This
launcher hands josev a codec instance that has already encoded and decoded every message type of the
protocol once
and CurrentDemandReq ``--warmup`` times (default :data:`WARMUP_ROUNDS`), in josev's own process and JVM,
so what the scenarios measure is josev warm, not its JIT compiler. ``--warmup 0`` measures it cold.
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
JOSEV_PROTOCOLS = {"din70121": "DIN_SPEC_70121", "iso15118-2": "ISO_15118_2"}

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
codec = ExificientEXICodec()
t0 = time.perf_counter()
for namespace, text in samples:
    codec.decode(bytes(codec.encode(text, namespace)), namespace)
hot = [sample for sample in samples if "CurrentDemandReq" in sample[1]]
for _ in range(rounds):
    for namespace, text in hot:
        codec.decode(bytes(codec.encode(text, namespace)), namespace)
print(f"josev JVM warm-up: {len(samples)} message types, then {rounds} CurrentDemand round trips, "
      f"in {time.perf_counter() - t0:.1f} s", flush=True)

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


def warmup_samples(protocol: str = "din70121") -> list[tuple[str, str]]:
    """(namespace, JSON text) of every request type of ``protocol``'s DC session, in josev's JSON form
    (EXIficient's)."""
    from harness.codec.v2g import exi_codec
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


def josev_environment(interface: str, workdir: Path, protocol: str = "din70121") -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(
        {
            "NETWORK_INTERFACE": interface,
            "PROTOCOLS": JOSEV_PROTOCOLS[protocol],
            "AUTH_MODES": "EIM",
            "SECC_ENFORCE_TLS": "false",
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
    args = parser.parse_args(argv)
    java_path()
    python = josev_python()
    # josev reads .env from its working directory: give it an empty one of its own.
    workdir = Path(tempfile.mkdtemp(prefix=f"josev-{args.role}-"))
    (workdir / "pki").mkdir()
    config_path = workdir / "evcc_config.json"
    evcc_config = {**EVCC_CONFIG, "supportedProtocols": [JOSEV_PROTOCOLS[args.protocol]]}
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
        ],
        josev_environment(args.interface, workdir, args.protocol),
    )
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
