"""The control pilot plot: the pilot state and the PWM duty cycle over time, as each side recorded them.

Read from the scenario timeline's PILOT events (capture/reader.py turns the simulated pilot record
frames, format harness/codec/pilot.py, into events): ``EvseOutput`` from the EVSE side and
``VehicleState`` from the EV side, each with ``state`` (the line state A..F, IEC 61851-1) and
``duty_percent`` (None while the EVSE drives no PWM: state X1 / steady +12 V).
"""

from __future__ import annotations

from collections.abc import Sequence

from capture.timeline import TimelineEvent
from reports.plots import RIGHT_LEGEND, STYLE, pyplot, svg_text, thin

PILOT = "PILOT"
# The pilot line states, bottom to top on the plot (IEC 61851-1 Annex A).
STATES = ("A", "B", "C", "D", "E", "F")
# The recording side of each pilot event, as the plot names it.
SIDES = {"EvseOutput": "EVSE", "VehicleState": "EV"}
# How far past the last record the lines run, as a share of the records' span.
TAIL_SHARE = 0.03
_COLOURS = {"EVSE": "#1f5fa8", "EV": "#b5561b"}
_WIDTH_IN, _HEIGHT_IN = 10.0, 3.8


def pilot_series(
    events: Sequence[TimelineEvent],
) -> tuple[dict[str, list[tuple[float, str]]], dict[str, list[tuple[float, float | None]]]]:
    """Per side: [(capture time, state)] and [(capture time, duty % or None)] of its pilot records."""
    states: dict[str, list[tuple[float, str]]] = {}
    duties: dict[str, list[tuple[float, float | None]]] = {}
    for event in events:
        side = SIDES.get(event.message)
        if event.protocol != PILOT or event.error or side is None:
            continue
        state = event.fields.get("state")
        if state in STATES:
            states.setdefault(side, []).append((event.t, state))
        duty = event.fields.get("duty_percent")
        duties.setdefault(side, []).append((event.t, float(duty) if isinstance(duty, int | float) else None))
    return states, duties


def _changes(points: Sequence[tuple[float, object]], end: float) -> list[tuple[float, object]]:
    """Only the points where the value changes, and the last time seen (records repeat a steady value)."""
    kept = [p for i, p in enumerate(points) if i == 0 or p[1] != points[i - 1][1]]
    if kept and kept[-1][0] < end:
        kept.append((end, kept[-1][1]))
    return kept


def pilot_svg(events: Sequence[TimelineEvent], id_prefix: str = "") -> str | None:
    """State (top) and duty cycle (bottom) per side over time; None without pilot records."""
    states, duties = pilot_series(events)
    if not states:
        return None
    times = [t for series in states.values() for t, _ in series]
    start, last = min(times), max(times)
    # The last record's state is drawn a little beyond it, so a change in the last record shows.
    end = last + TAIL_SHARE * (last - start) if last > start else last + 1.0
    plt = pyplot()
    with plt.rc_context(STYLE):
        figure, (state_axes, duty_axes) = plt.subplots(
            2, 1, sharex=True, figsize=(_WIDTH_IN, _HEIGHT_IN), height_ratios=(3, 2)
        )
        try:
            for side in sorted(states):
                points = thin(_changes(states[side], end))
                state_axes.step(
                    [t - start for t, _ in points],
                    [STATES.index(s) for _, s in points],
                    where="post",
                    color=_COLOURS[side],
                    linewidth=1.6,
                    alpha=0.8,
                    label=f"state ({side} record)",
                )
            drew_duty = False
            for side in sorted(duties):
                points = _changes(duties[side], end)
                if all(d is None for _, d in points):
                    continue
                points = thin(points)
                drew_duty = True
                duty_axes.step(
                    [t - start for t, _ in points],
                    [float("nan") if d is None else d for _, d in points],
                    where="post",
                    color=_COLOURS[side],
                    linewidth=1.4,
                    label=f"duty ({side} record)",
                )
            state_axes.set_yticks(range(len(STATES)))
            state_axes.set_yticklabels(STATES)
            state_axes.set_ylim(-0.5, len(STATES) - 0.5)
            state_axes.set_ylabel("pilot state")
            duty_axes.set_ylabel("duty cycle (%)")
            duty_axes.set_ylim(0, 100)
            duty_axes.set_xlabel("time since the first pilot record (s)")
            for axes in (state_axes, duty_axes):
                axes.grid(color="#e1e6eb")
            state_axes.legend(**RIGHT_LEGEND)
            if drew_duty:
                duty_axes.legend(**RIGHT_LEGEND)
            else:
                duty_axes.text(0.5, 0.5, "no PWM recorded", transform=duty_axes.transAxes, ha="center")
            state_axes.set_title("Control pilot: state and duty cycle", loc="left", fontsize=10)
            return svg_text(figure, id_prefix)
        finally:
            plt.close(figure)
