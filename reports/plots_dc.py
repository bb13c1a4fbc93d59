"""The DC session plot: what the EV asked for against what the charger delivered, and the EV's SoC.

Read from the decoded V2G messages of a scenario's timeline (``fields["V2G_Message"]["Body"]``):
the EV's EVTargetVoltage and EVTargetCurrent (PreChargeReq, CurrentDemandReq), the charger's
EVSEPresentVoltage and EVSEPresentCurrent (PreChargeRes, CurrentDemandRes) and the EV's
DC_EVStatus.EVRESSSOC.  DIN SPEC 70121 and ISO 15118-2 name these messages and fields alike, so the
plot reads any protocol's events that carry them.  A physical value is ``{Multiplier, Unit, Value}``,
worth ``Value * 10**Multiplier`` (DIN SPEC 70121 PhysicalValueType).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from capture.timeline import TimelineEvent
from reports.plots import RIGHT_LEGEND, STYLE, pyplot, svg_text, thin

# (message, field) -> series name; the series each DC message feeds.
_SERIES = {
    ("PreChargeReq", "EVTargetVoltage"): "EV target voltage",
    ("CurrentDemandReq", "EVTargetVoltage"): "EV target voltage",
    ("PreChargeReq", "EVTargetCurrent"): "EV target current",
    ("CurrentDemandReq", "EVTargetCurrent"): "EV target current",
    ("PreChargeRes", "EVSEPresentVoltage"): "EVSE present voltage",
    ("CurrentDemandRes", "EVSEPresentVoltage"): "EVSE present voltage",
    ("PreChargeRes", "EVSEPresentCurrent"): "EVSE present current",
    ("CurrentDemandRes", "EVSEPresentCurrent"): "EVSE present current",
}
_MESSAGES = {message for message, _ in _SERIES}
SOC = "EV SoC"
_SOC_MESSAGES = ("PreChargeReq", "CurrentDemandReq")
# Line styles: the EV's targets dashed, the charger's present values solid, one colour per quantity.
_STYLE = {
    "EV target voltage": ("#1f5fa8", "--"),
    "EVSE present voltage": ("#1f5fa8", "-"),
    "EV target current": ("#b5561b", "--"),
    "EVSE present current": ("#b5561b", "-"),
    SOC: ("#1b7f3b", ":"),
}
_WIDTH_IN, _HEIGHT_IN = 10.0, 4.6


def physical_value(raw: Any) -> float | None:
    """``Value * 10**Multiplier`` of a PhysicalValueType dict; None when it is not one."""
    if not isinstance(raw, dict):
        return None
    value, multiplier = raw.get("Value"), raw.get("Multiplier", 0)
    if not isinstance(value, int | float) or not isinstance(multiplier, int):
        return None
    return value * 10.0**multiplier


def _body(event: TimelineEvent) -> dict[str, Any] | None:
    message = event.fields.get("V2G_Message")
    body = message.get("Body") if isinstance(message, dict) else None
    inner = body.get(event.message) if isinstance(body, dict) else None
    return inner if isinstance(inner, dict) else None


def dc_series(events: Sequence[TimelineEvent]) -> dict[str, list[tuple[float, float]]]:
    """Series name -> [(capture time, value)] for the DC quantities the timeline carries."""
    series: dict[str, list[tuple[float, float]]] = {}
    for event in events:
        if event.error or event.message not in _MESSAGES:
            continue
        body = _body(event)
        if body is None:
            continue
        for (message, field), name in _SERIES.items():
            if message == event.message:
                value = physical_value(body.get(field))
                if value is not None:
                    series.setdefault(name, []).append((event.t, value))
        if event.message in _SOC_MESSAGES:
            status = body.get("DC_EVStatus")
            soc = status.get("EVRESSSOC") if isinstance(status, dict) else None
            if isinstance(soc, int | float):
                series.setdefault(SOC, []).append((event.t, float(soc)))
    return series


def dc_session_svg(events: Sequence[TimelineEvent], id_prefix: str = "") -> str | None:
    """Voltages (top) and currents with SoC (bottom) over the session; None without DC values."""
    series = dc_series(events)
    if not any(name != SOC for name in series):
        return None
    start = min(points[0][0] for points in series.values())
    plt = pyplot()
    with plt.rc_context(STYLE):
        figure, (volts, amps) = plt.subplots(2, 1, sharex=True, figsize=(_WIDTH_IN, _HEIGHT_IN))
        try:
            soc_axis = amps.twinx() if SOC in series else None
            for name in sorted(series):
                axes = volts if "voltage" in name else soc_axis if name == SOC else amps
                points = thin(series[name])
                colour, line = _STYLE[name]
                axes.step(
                    [t - start for t, _ in points],
                    [v for _, v in points],
                    where="post",
                    color=colour,
                    linestyle=line,
                    linewidth=1.4,
                    label=name,
                )
            volts.set_ylabel("voltage (V)")
            amps.set_ylabel("current (A)")
            amps.set_xlabel("time since the first DC message (s)")
            for axes in (volts, amps):
                axes.grid(color="#e1e6eb")
            volts.legend(**RIGHT_LEGEND)
            handles, labels = amps.get_legend_handles_labels()
            if soc_axis is not None:
                soc_axis.set_ylabel("SoC (%)")
                soc_axis.set_ylim(0, 100)
                more = soc_axis.get_legend_handles_labels()
                handles, labels = handles + more[0], labels + more[1]
            if handles:
                amps.legend(handles, labels, **RIGHT_LEGEND)
            volts.set_title(
                "DC session: EV targets against the charger's present values", loc="left", fontsize=10
            )
            return svg_text(figure, id_prefix)
        finally:
            plt.close(figure)
