"""The DER plot: the real power the server commanded against the real power the EV reported.

Read straight from the scenario timeline's decrypted IEEE 2030.5 HTTP events (capture/tls_http.py:
``fields["root"]`` names the body's root element, ``fields["resource"]`` is the body as a dict, an
element with attributes and text keeps its text under ``"value"``).  The posted readings are found as
the DER judges find them (:func:`capture.sep2_body.posted_readings`); reports may not import the
judges themselves (the ``reports-read-results`` import contract), and the plot needs far less of them:
no server clock, no parties.

Both sides are plotted in server time, which the wire carries: a DERControl's ``interval``
(start, duration) and a Reading's ``timePeriod.start`` (IEEE 2030.5 DateTimeInterval, UTC seconds).

- Commanded: every DERControl the server sent (in a DERControlList or alone), its opModFixedW and
  opModMaxLimW over its interval, in percent of the rating (the wire's hundredths of a percent,
  IEEE 2030.5 PerCent).  Turning a share into watts depends on the DUT's declared ratings and the
  sign of the command, which the DER checks judge; the plot shows the command as sent.
- Reported: the MirrorMeterReading values of real power (ReadingType uom 38, W) the client posted,
  scaled by the ReadingType's powerOfTenMultiplier (declared on the reading or on its
  MirrorUsagePoint for the same mRID); the sign is the client's (import +, export -).

When the client declared its setMaxW (its last DERSettings PUT), the two axes are aligned so that a
command of p % sits at the export of p % of setMaxW (a positive opModFixedW asks for export, as
harness/verdict/der_judging.py reads it; readings are signed as README AC DER "Readings" says): a
reading that follows the command lies on its line.  The DER checks judge the exact target (they also
weigh the declared charge and discharge rates); the plot is for the eye.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from capture.sep2_body import HTTP, UOM_WATT, items, posted_readings
from capture.timeline import TimelineEvent
from reports.plots import BELOW_LEGEND, STYLE, pyplot, svg_text, thin

# The DERControlBase modes that command real power as a share of the rating (IEEE 2030.5 PerCent).
POWER_MODES = ("opModFixedW", "opModMaxLimW")
# IEEE 2030.5 PerCent: hundredths of a percent.
PER_CENT_SCALE = 100.0
_MODE_COLOURS = {"opModFixedW": "#c62828", "opModMaxLimW": "#7b1fa2"}
_READING_COLOUR = "#1f5fa8"
_WIDTH_IN, _HEIGHT_IN = 10.0, 3.6


def _number(raw: Any) -> float | None:
    """A mode's number: plain, or the ``"value"`` of an element with attributes."""
    if isinstance(raw, dict):
        raw = raw.get("value")
    return float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None


def commands(events: Sequence[TimelineEvent]) -> dict[str, list[tuple[float, float, float]]]:
    """Mode -> [(start, end, percent of rating)] of the DERControls the server sent, deduplicated."""
    seen: dict[tuple[str, float, float], float] = {}
    for event in events:
        if event.protocol != HTTP or event.error or not isinstance(event.fields.get("resource"), dict):
            continue
        root, resource = event.fields.get("root"), event.fields["resource"]
        controls = (
            items(resource.get("DERControl"))
            if root == "DERControlList"
            else [resource]
            if root == "DERControl"
            else []
        )
        for control in controls:
            interval = control.get("interval") if isinstance(control, dict) else None
            base = control.get("DERControlBase") if isinstance(control, dict) else None
            if not isinstance(interval, dict) or not isinstance(base, dict):
                continue
            start, duration = _number(interval.get("start")), _number(interval.get("duration"))
            if start is None or duration is None:
                continue
            for mode in POWER_MODES:
                value = _number(base.get(mode))
                if value is not None:
                    seen[(mode, start, start + duration)] = value / PER_CENT_SCALE
    out: dict[str, list[tuple[float, float, float]]] = {}
    for (mode, start, end), percent in sorted(seen.items()):
        out.setdefault(mode, []).append((start, end, percent))
    return out


def readings(events: Sequence[TimelineEvent]) -> list[tuple[float, float]]:
    """[(server time, W)] of the real-power readings the client posted, in time order."""
    out: set[tuple[float, float]] = set()
    for found in posted_readings(events, UOM_WATT):
        period = found.reading.get("timePeriod")
        start = _number(period.get("start")) if isinstance(period, dict) else None
        if start is not None:
            out.add((start, float(found.value)))
    return sorted(out)


def declared_max_w(events: Sequence[TimelineEvent]) -> float | None:
    """The setMaxW (W) of the last DERSettings the client PUT, if any."""
    found = None
    for event in events:
        resource = event.fields.get("resource")
        if (
            event.protocol == HTTP
            and not event.error
            and event.fields.get("method") == "PUT"
            and event.fields.get("root") == "DERSettings"
            and isinstance(resource, dict)
        ):
            raw = resource.get("setMaxW")
            value = _number(raw)
            multiplier = raw.get("multiplier", 0) if isinstance(raw, dict) else 0
            if value is not None and value > 0 and isinstance(multiplier, int):
                found = value * 10.0**multiplier
    return found


def der_power_svg(events: Sequence[TimelineEvent], id_prefix: str = "") -> str | None:
    """Commanded shares (right axis) against reported power (left axis); None without either."""
    commanded, reported = commands(events), readings(events)
    if not commanded or len(reported) < 2:
        return None
    times = [t for t, _ in reported] + [t for runs in commanded.values() for s, e, _ in runs for t in (s, e)]
    # A control's interval may run far beyond the readings (a 30-minute event in a short test): the
    # axis spans the readings and the control starts that fall among them.
    first, last = min(t for t, _ in reported), max(t for t, _ in reported)
    starts = [s for runs in commanded.values() for s, _, _ in runs]
    if min(starts) > last:
        return None  # no reading while any control was in force: nothing to set against each other
    origin = min([first, *starts])
    right = max(last, min(max(times), last + (last - origin) * 0.25 + 1.0))
    plt = pyplot()
    with plt.rc_context(STYLE):
        figure, power = plt.subplots(figsize=(_WIDTH_IN, _HEIGHT_IN))
        share = power.twinx()
        try:
            points = thin(reported)
            power.plot(
                [t - origin for t, _ in points],
                [w for _, w in points],
                marker="o",
                markersize=3,
                linewidth=1.2,
                color=_READING_COLOUR,
                label="reported real power (W)",
            )
            for mode in sorted(commanded):
                for index, (start, end, percent) in enumerate(commanded[mode]):
                    share.plot(
                        [start - origin, min(end, right) - origin],
                        [percent, percent],
                        color=_MODE_COLOURS[mode],
                        linewidth=2.2,
                        label=f"{mode} commanded (%)" if index == 0 else None,
                    )
            power.set_xlim(0, right - origin)
            power.set_ylabel("reported power (W; import +, export -)")
            share.set_ylabel("commanded (% of rating)")
            percents = [p for runs in commanded.values() for *_, p in runs]
            set_max_w = declared_max_w(events)
            if set_max_w is None:
                share.set_ylim(min(-100.0, *percents) - 5, 105)
            else:
                # p % of setMaxW exported is -p/100 * setMaxW on the readings' axis.
                watts = [w for _, w in reported] + [-p / 100.0 * set_max_w for p in percents]
                margin = 0.05 * (max(watts) - min(watts) or set_max_w)
                low, high = min(watts) - margin, max(watts) + margin
                power.set_ylim(low, high)
                share.set_ylim(-low / set_max_w * 100.0, -high / set_max_w * 100.0)
                share.set_ylabel(f"commanded (% of setMaxW {set_max_w:g} W, export)")
            power.set_xlabel("server time since the first control or reading (s)")
            power.grid(color="#e1e6eb")
            handles, labels = power.get_legend_handles_labels()
            more = share.get_legend_handles_labels()
            power.legend(handles + more[0], labels + more[1], **BELOW_LEGEND)
            power.set_title("DER: commanded against reported real power", loc="left", fontsize=10)
            return svg_text(figure, id_prefix)
        finally:
            plt.close(figure)
