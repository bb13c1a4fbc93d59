"""Plots of a run, drawn with matplotlib as SVG text the HTML report embeds inline.

The answer-time plot shows, per message type, every answer time the run measured (one dot each, see
:mod:`reports.answer_times`), its p50 and p95 marks, and the limits the checks judged them against, on
a logarithmic time axis (sub-millisecond answers and multi-second limits share one chart).

The DC session, control pilot and DER plots of a scenario's timeline live in :mod:`reports.plots_dc`,
:mod:`reports.plots_pilot` and :mod:`reports.plots_der` (collected by :mod:`reports.scenario_plots`);
they share the style, thinning and SVG output here.

The SVG is made reproducible (fixed element ids, no creation date), so rendering an unchanged run
twice gives the same report, byte for byte.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

from reports.answer_times import AnswerTime, Summary, summarise

# Colours as the HTML report uses them: answers in the text colour, limits in the FAIL red.
_ANSWER_COLOUR = "#1d232a"
_PERCENTILE_COLOUR = "#1b7f3b"
_LIMIT_COLOUR = "#c62828"
_ROW_HEIGHT_IN = 0.42  # inches per message type
_WIDTH_IN = 10.0
# Fixed seed of matplotlib's SVG element ids, so the same data gives the same file.
_SVG_HASH_SALT = "vgi-report"
# A limit this many times above the slowest answer still shows, but widens the axis no further.
_MAX_AXIS_SPAN = 1e4
_XML_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)


# The matplotlib settings of every plot: fixed ids, text as text (no embedded glyphs), small type.
STYLE = {"svg.hashsalt": _SVG_HASH_SALT, "svg.fonttype": "none", "font.size": 9}
# Legends of the time plots sit outside the axes, so they never hide a line: to the right of them
# (beyond a second axis' labels), or below them in columns.
RIGHT_LEGEND = {"loc": "upper left", "bbox_to_anchor": (1.09, 1.0), "fontsize": 8, "frameon": False}
BELOW_LEGEND = {
    "loc": "upper center",
    "bbox_to_anchor": (0.5, -0.2),
    "ncol": 3,
    "fontsize": 8,
    "frameon": False,
}
# Points a time series keeps at most; longer ones are thinned evenly (first and last kept).
MAX_SERIES_POINTS = 400


def pyplot():  # noqa: ANN201 - matplotlib.pyplot, imported lazily (no display: Agg)
    """matplotlib's pyplot on the Agg backend, imported only when a plot is drawn."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import pyplot as plt

    return plt


def thin(points: Sequence[tuple[float, float]], limit: int = MAX_SERIES_POINTS) -> list[tuple[float, float]]:
    """At most ``limit`` of ``points``, evenly spaced, the first and the last always kept."""
    if len(points) <= limit:
        return list(points)
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


_ID = re.compile(r'(\bid="|url\(#|href="#)')


def svg_text(figure, id_prefix: str = "") -> str:  # noqa: ANN001 - a matplotlib Figure, imported lazily
    """The figure as an inline ``<svg>`` element, without creation date.

    ``id_prefix`` goes before every element id and reference to one, so several plots inlined in one
    HTML document keep their ids apart (matplotlib numbers them from 1 in every figure)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    # Inline in HTML the XML declaration and DOCTYPE are not wanted; the <svg> element is.
    svg = _XML_PROLOGUE.sub("", buffer.getvalue(), count=1)
    return _ID.sub(lambda m: m.group() + id_prefix, svg) if id_prefix else svg


def answer_time_svg(times: Sequence[AnswerTime]) -> str | None:
    """The answer-time distributions per message type against their limits; None when nothing was timed."""
    if not times:
        return None
    plt = pyplot()
    summaries: dict[str, Summary] = summarise(times)
    messages = list(summaries)
    by_message: dict[str, list[float]] = {m: [] for m in messages}
    for item in times:
        by_message[item.message].append(item.seconds * 1000.0)

    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(_WIDTH_IN, 1.2 + _ROW_HEIGHT_IN * len(messages)))
        try:
            slowest = max(max(v) for v in by_message.values())
            fastest = min(min(v) for v in by_message.values())
            low = max(fastest, 1e-3) / 2.0
            high = slowest * 2.0
            limit_labelled = False
            for row, message in enumerate(messages):
                values = by_message[message]
                # Spread the dots of a row a little, in a fixed pattern, so equal times stay visible.
                offsets = [((i * 7) % 11 - 5) * 0.025 for i in range(len(values))]
                axes.scatter(
                    [max(v, low) for v in values],
                    [row + o for o in offsets],
                    s=9,
                    color=_ANSWER_COLOUR,
                    alpha=0.55,
                    linewidths=0,
                    label="answer" if row == 0 else None,
                )
                summary = summaries[message]
                for value, marker, label in ((summary.p50, "|", "p50"), (summary.p95, "d", "p95")):
                    axes.scatter(
                        [max(value * 1000.0, low)],
                        [row],
                        marker=marker,
                        s=70 if marker == "|" else 30,
                        color=_PERCENTILE_COLOUR,
                        zorder=3,
                        label=label if row == 0 else None,
                    )
                for limit in summary.limits:
                    limit_ms = limit * 1000.0
                    if limit_ms <= slowest * _MAX_AXIS_SPAN:
                        high = max(high, limit_ms * 1.5)
                    axes.plot(
                        [limit_ms, limit_ms],
                        [row - 0.38, row + 0.38],
                        color=_LIMIT_COLOUR,
                        linewidth=2,
                        label=None if limit_labelled else "limit",
                    )
                    limit_labelled = True
            axes.set_xscale("log")
            axes.set_xlim(low, high)
            axes.set_ylim(-0.6, len(messages) - 0.4)
            axes.set_yticks(range(len(messages)))
            axes.set_yticklabels([f"{m} (n={summaries[m].count})" for m in messages])
            axes.invert_yaxis()
            axes.set_xlabel("answer time (ms, logarithmic)")
            axes.grid(axis="x", which="major", color="#e1e6eb")
            axes.legend(loc="lower right", fontsize=8, framealpha=0.9)
            axes.set_title("Answer times per message type against their limits", loc="left", fontsize=10)
            return svg_text(figure)
        finally:
            plt.close(figure)
