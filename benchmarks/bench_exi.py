"""EXI codec benchmark: median microseconds per decode and per encode, ours against josev's.

    .venv/bin/python benchmarks/bench_exi.py [--runs N] [--no-josev]

josev's figures are measured inside its own process (Python -> py4j -> EXIficient, as josev runs
it), ours in this one; both are medians over the same messages.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.codec.v2g.exi_codec import decode, encode  # noqa: E402

NAMESPACES = {
    "din": "urn:din:70121:2012:MsgDef",
    "iso2": "urn:iso:15118:2:2013:MsgDef",
    "iso20-dc": "urn:iso:std:iso:15118:-20:DC",
}
DEFAULT_RUNS = 2000
JOSEV_RUNS = 200  # each josev call costs milliseconds
WARMUP = 50
# DIN SPEC 70121 Table 75 / ISO 15118-2 Table 109: the SECC answers CurrentDemandReq within 25 ms.
CURRENT_DEMAND_BUDGET_US = 25_000


def _pv(multiplier: int, unit: str, value: int) -> dict:
    return {"Multiplier": multiplier, "Unit": unit, "Value": value}


def _din(body: dict) -> dict:
    return {"V2G_Message": {"Header": {"SessionID": "8FA57FDE2BFAFE78"}, "Body": body}}


DIN_SESSION_SETUP_REQ = _din({"SessionSetupReq": {"EVCCID": "00E04C68001D"}})
DIN_CURRENT_DEMAND_REQ = _din(
    {
        "CurrentDemandReq": {
            "DC_EVStatus": {"EVReady": True, "EVErrorCode": "NO_ERROR", "EVRESSSOC": 55},
            "EVTargetCurrent": _pv(0, "A", 120),
            "EVMaximumVoltageLimit": _pv(0, "V", 420),
            "EVMaximumCurrentLimit": _pv(0, "A", 200),
            "EVMaximumPowerLimit": _pv(3, "W", 80),
            "BulkChargingComplete": False,
            "ChargingComplete": False,
            "RemainingTimeToFullSoC": _pv(0, "s", 1800),
            "RemainingTimeToBulkSoC": _pv(0, "s", 1200),
            "EVTargetVoltage": _pv(0, "V", 400),
        }
    }
)
DIN_CURRENT_DEMAND_RES = _din(
    {
        "CurrentDemandRes": {
            "ResponseCode": "OK",
            "DC_EVSEStatus": {
                "EVSEIsolationStatus": "Valid",
                "EVSEStatusCode": "EVSE_Ready",
                "NotificationMaxDelay": 0,
                "EVSENotification": "None",
            },
            "EVSEPresentVoltage": _pv(-1, "V", 3995),
            "EVSEPresentCurrent": _pv(-1, "A", 1198),
            "EVSECurrentLimitAchieved": False,
            "EVSEVoltageLimitAchieved": False,
            "EVSEPowerLimitAchieved": False,
            "EVSEMaximumVoltageLimit": _pv(0, "V", 500),
            "EVSEMaximumCurrentLimit": _pv(0, "A", 200),
            "EVSEMaximumPowerLimit": _pv(3, "W", 100),
        }
    }
)


def _sa_schedule_tuple(tuple_id: int, entries: int) -> dict:
    interval = 86400 // entries
    return {
        "SAScheduleTupleID": tuple_id,
        "PMaxSchedule": {
            "PMaxScheduleEntry": [
                {"RelativeTimeInterval": {"start": i * interval}, "PMax": _pv(3, "W", 50 + i)}
                for i in range(entries)
            ]
        },
        "SalesTariff": {
            "Id": f"tariff{tuple_id}",
            "SalesTariffID": tuple_id,
            "NumEPriceLevels": 3,
            "SalesTariffEntry": [
                {
                    "RelativeTimeInterval": {"start": i * interval},
                    "EPriceLevel": i % 3,
                    "ConsumptionCost": [
                        {
                            "startValue": _pv(3, "W", 0),
                            "Cost": [{"costKind": "relativePricePercentage", "amount": 100}],
                        }
                    ],
                }
                for i in range(entries)
            ],
        },
    }


ISO2_CHARGE_PARAMETER_DISCOVERY_RES = {
    "V2G_Message": {
        "Header": {"SessionID": "4023FB848E30A180"},
        "Body": {
            "ChargeParameterDiscoveryRes": {
                "ResponseCode": "OK",
                "EVSEProcessing": "Finished",
                "SAScheduleList": {"SAScheduleTuple": [_sa_schedule_tuple(i, 24) for i in (1, 2, 3)]},
                "DC_EVSEChargeParameter": {
                    "DC_EVSEStatus": {
                        "NotificationMaxDelay": 0,
                        "EVSENotification": "None",
                        "EVSEIsolationStatus": "Valid",
                        "EVSEStatusCode": "EVSE_Ready",
                    },
                    "EVSEMaximumCurrentLimit": _pv(0, "A", 200),
                    "EVSEMaximumPowerLimit": _pv(3, "W", 100),
                    "EVSEMaximumVoltageLimit": _pv(0, "V", 500),
                    "EVSEMinimumCurrentLimit": _pv(0, "A", 0),
                    "EVSEMinimumVoltageLimit": _pv(0, "V", 150),
                    "EVSEPeakCurrentRipple": _pv(0, "A", 1),
                },
            }
        },
    }
}


def _rational(exponent: int, value: int) -> dict:
    return {"Exponent": exponent, "Value": value}


ISO20_DC_CHARGE_LOOP_REQ = {
    "DC_ChargeLoopReq": {
        "Header": {"SessionID": "CCEC07A64440C546", "TimeStamp": 1761652395},
        "DisplayParameters": {"PresentSOC": 55, "ChargingComplete": False},
        "MeterInfoRequested": False,
        "EVPresentVoltage": _rational(0, 398),
        "Scheduled_DC_CLReqControlMode": {
            "EVTargetCurrent": _rational(0, 120),
            "EVTargetVoltage": _rational(0, 400),
        },
    }
}


@dataclass(frozen=True)
class Case:
    name: str
    schema: str
    message: dict


CASES = (
    Case("DIN SessionSetupReq", "din", DIN_SESSION_SETUP_REQ),
    Case("DIN CurrentDemandReq", "din", DIN_CURRENT_DEMAND_REQ),
    Case("DIN CurrentDemandRes", "din", DIN_CURRENT_DEMAND_RES),
    Case("ISO-2 ChargeParameterDiscoveryRes (3x24)", "iso2", ISO2_CHARGE_PARAMETER_DISCOVERY_RES),
    Case("ISO-20 DC_ChargeLoopReq", "iso20-dc", ISO20_DC_CHARGE_LOOP_REQ),
)


@dataclass(frozen=True)
class Result:
    name: str
    size: int
    decode_us: float
    encode_us: float
    josev_decode_us: float | None = None
    josev_encode_us: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.josev_decode_us is None or self.josev_encode_us is None:
            return None
        return (self.josev_decode_us + self.josev_encode_us) / (self.decode_us + self.encode_us)


def _median_us(fn, runs: int) -> float:
    for _ in range(WARMUP):
        fn()
    samples = []
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for _ in range(runs):
            t0 = clock()
            fn()
            samples.append(clock() - t0)
    finally:
        gc.enable()
    return statistics.median(samples) / 1000


def run(runs: int = DEFAULT_RUNS, josev_runs: int = JOSEV_RUNS, with_josev: bool = True) -> list[Result]:
    bridge = None
    if with_josev:
        from harness.dut.josev_env import JosevEnvError, JosevExiBridge

        try:
            bridge = JosevExiBridge()
        except JosevEnvError as exc:
            print(f"josev unavailable, ours only: {exc}", file=sys.stderr)
    results = []
    try:
        for case in CASES:
            data = encode(case.schema, case.message)
            assert decode(case.schema, data) == case.message, case.name
            dec = _median_us(lambda c=case, d=data: decode(c.schema, d), runs)
            enc = _median_us(lambda c=case: encode(c.schema, c.message), runs)
            jdec = jenc = None
            if bridge is not None:
                jdec, jenc = bridge.bench(data, case.message, NAMESPACES[case.schema], josev_runs)
            results.append(Result(case.name, len(data), dec, enc, jdec, jenc))
    finally:
        if bridge is not None:
            bridge.close()
    return results


def format_table(results: list[Result]) -> str:
    head = (
        "| message | bytes | ours decode us | ours encode us | josev decode us | josev encode us "
        "| josev/ours |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )
    rows = [head]
    for r in results:
        j = (
            (f"{r.josev_decode_us:.0f}", f"{r.josev_encode_us:.0f}", f"{r.ratio:.0f}x")
            if r.ratio is not None
            else ("n/a", "n/a", "n/a")
        )
        rows.append(
            f"| {r.name} | {r.size} | {r.decode_us:.1f} | {r.encode_us:.1f} | {j[0]} | {j[1]} | {j[2]} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="timed runs per message (ours)")
    parser.add_argument("--josev-runs", type=int, default=JOSEV_RUNS, help="timed runs per message (josev)")
    parser.add_argument("--no-josev", action="store_true", help="skip josev (no Java / no network)")
    args = parser.parse_args(argv)
    results = run(args.runs, args.josev_runs, not args.no_josev)
    print(format_table(results))
    cd = next(r for r in results if r.name == "DIN CurrentDemandReq")
    total = cd.decode_us + cd.encode_us
    print(
        f"\nDIN CurrentDemandReq decode + encode: {total:.0f} us median "
        f"({100 * total / CURRENT_DEMAND_BUDGET_US:.1f}% of the 25 ms SECC budget)"
        + (f"; josev/ours {cd.ratio:.0f}x" if cd.ratio is not None else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
