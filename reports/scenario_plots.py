"""The plots of one scenario drawn from its timeline: DC session, control pilot, DER power.

Each plot is drawn only when the timeline carries its data; a scenario without any gets none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from capture.timeline import TimelineEvent
from reports.plots_dc import dc_session_svg
from reports.plots_der import der_power_svg
from reports.plots_pilot import pilot_svg


@dataclass(frozen=True, slots=True)
class TimelinePlot:
    kind: str  # "dc", "pilot" or "der": the page's element id suffix and CSS hook
    svg: Markup  # the inline <svg> element, matplotlib's own output (no text of the run unescaped)


# Each scenario's timeline plots by the scenario's anchor, as a report run drew them for the HTML pages:
# the PDF shows the same plots and takes them from here rather than drawing them again.
DrawnPlots = dict[str, tuple[TimelinePlot, ...]]

_PLOTS: tuple[tuple[str, Callable[[Sequence[TimelineEvent], str], str | None]], ...] = (
    ("dc", dc_session_svg),
    ("pilot", pilot_svg),
    ("der", der_power_svg),
)


def timeline_plots(events: Sequence[TimelineEvent], id_prefix: str = "") -> tuple[TimelinePlot, ...]:
    """The plots ``events`` have data for, in a fixed order; their SVG ids start ``id_prefix``, kind."""
    if not events:
        return ()
    drawn = ((kind, draw(events, f"{id_prefix}{kind}-")) for kind, draw in _PLOTS)
    return tuple(TimelinePlot(kind, Markup(svg)) for kind, svg in drawn if svg is not None)
