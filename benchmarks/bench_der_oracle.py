"""The IEEE 2030.5 DER event engine's cost for a day of 1,000 controls across 10 programs, and the oracle's.

Workload: 10 DERPrograms (primacy 0..9, every other one with a DefaultDERControl), 1,000 DERControls
spread over one day (15 to 120 min each, overlapping within and across programs on four modes,
randomizeStart/Duration up to 5 min, every control asking for all responses), and at midday a second
snapshot in which one control in twenty is cancelled (half of them with randomization) and one in
fifty has disappeared.  Measured:

* engine: feed the two snapshots to one :class:`DerEventEngine` on the simulated clock and run the
  simulated day to its end (every start, end, supersession, cancellation and response);
* oracle: :func:`harness.protocol.sep2.der_oracle.predict` for the same inputs (10 engine runs: low and
  high randomization bounds and three seeded draws, each with and without a 900 s poll delay, plus
  the bounds per control).

Baseline, measured in the same run: parsing the same 1,000 DERControl XML bodies with the codec
(``harness.codec.sep2.resources.parse_resource``, strict, schema-bound py20305 classes).  A client
must decode every control before its engine can reason about it, and a verdict must decode every
control the server published before the oracle can judge, so "how many times the cost of merely
reading the controls" says directly whether the engine or the oracle matters next to work that is
already on the path.  It also scales the figure to the machine: both sides are pure Python run in one
process, so the ratio is far steadier than either time alone.

    .venv/bin/python benchmarks/bench_der_oracle.py [--controls 1000] [--programs 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from py20305.models.sep import sep

from harness.codec.sep2 import resources as r
from harness.codec.sep2 import values as v
from harness.protocol.core import Send
from harness.protocol.sep2.der_convert import control_from_resource, mrid_text
from harness.protocol.sep2.der_events import DerEventEngine, DerSnapshot, SeededRandom
from harness.protocol.sep2.der_model import DefaultControl, DerControl, DerProgram, EventStatusCode
from harness.protocol.sep2.der_oracle import predict
from harness.protocol.simclock import SimulatedClock

T0 = 1_700_000_000
DAY_S = 86_400
POLL_S = 900  # REFERENCE-DER.md: pollRate defaults to 900 s
SEED = 2030_5


def _base(modes: dict[str, Any]) -> sep.DercontrolBase:
    return r.DERControlBase(
        op_mod_fixed_w=sep.SignedPerCentControlType(value=modes["opModFixedW"])
        if "opModFixedW" in modes
        else None,
        op_mod_max_lim_w=sep.PerCentControlType(value=modes["opModMaxLimW"])
        if "opModMaxLimW" in modes
        else None,
        op_mod_connect=modes.get("opModConnect"),
        op_mod_energize=modes.get("opModEnergize"),
    )


def workload(controls: int, programs: int) -> tuple[list[bytes], list[tuple[float, Any]]]:
    """The DERControl bodies and the engine inputs ((server time, snapshot) pairs) of one day."""
    draw = random.Random(SEED)
    plans = [
        DerProgram(
            mrid_text(v.mrid(10 + p)),
            p,
            DefaultControl(mrid_text(v.mrid(50 + p)), {"opModMaxLimW": 10000 - 100 * p})
            if p % 2 == 0
            else None,
        )
        for p in range(programs)
    ]
    bodies: list[bytes] = []
    published: list[DerControl] = []
    for n in range(controls):
        program = plans[n % programs]
        modes: dict[str, Any] = {"opModFixedW": draw.randint(-10000, 10000)}
        if draw.random() < 0.5:
            modes["opModMaxLimW"] = draw.randint(0, 10000)
        if draw.random() < 0.2:
            modes["opModConnect"] = draw.random() < 0.8
        if draw.random() < 0.1:
            modes["opModEnergize"] = True
        resource = r.DERControl(
            href=f"/derp/{n % programs}/derc/{n}",
            m_rid=v.mrid(1000 + n),
            creation_time=v.sep_time(T0 - draw.randint(0, 7 * DAY_S)),
            event_status=v.event_status(v.EventStatusCode.SCHEDULED, T0),
            interval=v.interval(T0 + draw.randint(0, DAY_S - 600), draw.randint(15, 120) * 60),
            randomize_start=sep.OneHourRangeType(value=draw.randint(-300, 300)),
            randomize_duration=sep.OneHourRangeType(value=draw.randint(-300, 300)),
            dercontrol_base=_base(modes),
            reply_to=f"/rsps/{n % programs}/rsp",
            response_required=b"\x07",
        )
        bodies.append(r.serialise(resource))
        published.append(control_from_resource(resource, program.mrid))
    midday: list[DerControl] = []
    for n, control in enumerate(published):
        if n % 50 == 7:
            continue  # disappeared from the server: treated as cancelled
        if n % 20 == 3:
            status = (
                EventStatusCode.CANCELLED_WITH_RANDOMIZATION if n % 40 == 3 else EventStatusCode.CANCELLED
            )
            control = replace(control, current_status=status)
        midday.append(control)
    inputs: list[tuple[float, Any]] = [
        (T0, DerSnapshot(tuple(plans), tuple(published))),
        (T0 + DAY_S / 2, DerSnapshot(tuple(plans), tuple(midday))),
    ]
    return bodies, inputs


def parse_all(bodies: list[bytes]) -> int:
    return sum(1 for body in bodies if r.parse_resource(body, r.DERControl) is not None)


def run_day(inputs: list[tuple[float, Any]]) -> int:
    engine = DerEventEngine(randomness=SeededRandom(SEED))
    clock = SimulatedClock(now=T0)
    sent = [0]

    def perform(actions: list[Any], now: float) -> None:
        sent[0] += sum(1 for action in actions if isinstance(action, Send))

    handle = clock.attach(engine, perform)
    for at, event in inputs:
        clock.schedule(handle, event, at)
    clock.run(until=T0 + 2 * DAY_S)
    return sent[0]


def oracle(inputs: list[tuple[float, Any]]) -> int:
    return len(predict(inputs, until=T0 + 2 * DAY_S, poll_period=POLL_S).expectations)


def measure(label: str, work: Callable[[], int], repeats: int) -> tuple[float, int]:
    times, result = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    best = min(times)
    print(
        f"  {label:<52} {best * 1000:9.1f} ms  (median {statistics.median(times) * 1000:.1f} ms)  -> {result}"
    )
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--controls", type=int, default=1000)
    parser.add_argument("--programs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    bodies, inputs = workload(args.controls, args.programs)
    size = sum(len(body) for body in bodies)
    heading = f"{args.controls} DERControls across {args.programs} programs, {size / 1024:.0f} kB of XML"
    print(f"{heading}; best of {args.repeats}")
    baseline, parsed = measure(
        "baseline: parse the DERControl bodies (codec)", lambda: parse_all(bodies), args.repeats
    )
    engine, responses = measure(
        "engine: two snapshots + the simulated day (responses)", lambda: run_day(inputs), args.repeats
    )
    checked, controls = measure(
        "oracle: predict with 900 s poll tolerance (controls)", lambda: oracle(inputs), args.repeats
    )
    assert parsed == args.controls and controls == args.controls
    print(f"engine / parse = {engine / baseline:.2f}x   oracle / parse = {checked / baseline:.2f}x")
    per = {"parse": baseline, "engine": engine, "oracle": checked}
    print("per control: " + ", ".join(f"{k} {t / args.controls * 1e6:.0f} us" for k, t in per.items()))


if __name__ == "__main__":
    main()
