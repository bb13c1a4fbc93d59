"""The geometry of a message sequence chart drawn from a timeline.

Everything is computed here as plain numbers and strings; the template only writes them out as
inline SVG (so autoescaping covers every label and no SVG is assembled from strings by hand).
One lifeline per endpoint in order of first appearance, one row per event, top to bottom in
timeline order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from capture.timeline import TimelineEvent

# A chart of thousands of rows helps nobody and bloats the file; the timing table lists more.
MAX_CHART_EVENTS = 200
# Rows per drawn part of a chart: a part fits one printed A4 page, repeats the lifeline headers, and
# the page break falls between parts instead of through an arrow.
SEGMENT_ROWS = 25

# Link-layer and transport events (not application messages) are drawn dashed, so the eye can
# separate "the TCP connection was reset" from "the SECC answered".
LINK_PROTOCOLS = frozenset({"TCP", "TLS", "LINK", "ETH", "PLC"})
LINK_MESSAGES = frozenset(
    {"SYN", "SYN-ACK", "SYN+ACK", "SYNACK", "ACK", "FIN", "FIN-ACK", "FIN+ACK", "RST", "RST-ACK", "RST+ACK"}
)

_LEFT_MARGIN = 170.0  # frame number and relative time are written left of the first lane
_LANE_WIDTH = 210.0
_HEADER_HEIGHT = 58.0  # room for a box with the party's name above the address
_ROW_HEIGHT = 32.0
_BOTTOM_MARGIN = 16.0
_HEAD_LENGTH = 8.0
_HEAD_HALF_WIDTH = 4.0
_SELF_LOOP_WIDTH = 28.0
_CHAR_WIDTH = 6.8  # average width of one character at the chart's 11 px font, for truncation
_NAME_CHARS = 30


@dataclass(frozen=True, slots=True)
class Lifeline:
    name: str  # the full endpoint, as in the timeline
    label: str  # what fits in the header box
    party: str  # e.g. "tester" when results.json names the address's party, else ""
    x: float
    box_x: float
    box_width: float


@dataclass(frozen=True, slots=True)
class Arrow:
    """One event: a line (or a loop for src == dst) with its head, label and margin texts."""

    kind: str  # "message", "link" or "error"
    frame: int
    time_label: str
    y: float
    path: str  # SVG path data for the shaft
    head: str  # SVG polygon points for the arrow head
    label: str
    label_x: float
    label_anchor: str  # SVG text-anchor
    title: str  # full text, shown as a tooltip and kept for screen readers


@dataclass(frozen=True, slots=True)
class ChartSegment:
    """Consecutive rows of a chart drawn as one SVG; y coordinates are within the segment."""

    arrows: tuple[Arrow, ...]
    height: float
    lifeline_bottom: float


@dataclass(frozen=True, slots=True)
class SequenceChart:
    width: float
    lifelines: tuple[Lifeline, ...]
    segments: tuple[ChartSegment, ...]
    lifeline_top: float
    total_events: int

    @property
    def arrows(self) -> tuple[Arrow, ...]:
        return tuple(arrow for segment in self.segments for arrow in segment.arrows)

    @property
    def truncated(self) -> bool:
        return self.total_events > len(self.arrows)


def event_kind(event: TimelineEvent) -> str:
    """How an event is drawn: a decode error, a link/transport event or an application message."""
    if event.error:
        return "error"
    if event.protocol.upper() in LINK_PROTOCOLS or event.message.upper() in LINK_MESSAGES:
        return "link"
    return "message"


def format_ms(seconds: float) -> str:
    return f"{seconds * 1000.0:.3f}"


def _shorten(text: str, limit: int) -> str:
    limit = max(limit, 4)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _head(tip_x: float, tip_y: float, direction: float) -> str:
    """Triangle points of an arrow head whose tip is at (tip_x, tip_y), pointing right (+1) or left (-1)."""
    base_x = tip_x - direction * _HEAD_LENGTH
    return (
        f"{tip_x:.1f},{tip_y:.1f} {base_x:.1f},{tip_y - _HEAD_HALF_WIDTH:.1f} "
        f"{base_x:.1f},{tip_y + _HEAD_HALF_WIDTH:.1f}"
    )


def endpoint(address: str, port: int | None) -> str:
    """An address with its port the way URLs write it: ``[fe80::1]:15118``, ``192.0.2.1:80``."""
    if port is None:
        return address
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def party_of(address: str, parties: Mapping[str, Sequence[str]]) -> str:
    """The party (``tester``, ``dut``, ...) whose address list holds ``address``; "" if none does."""
    bare = address.strip("[]").lower()
    for party, addresses in parties.items():
        if any(bare == candidate.strip("[]").lower() for candidate in addresses):
            return party
    return ""


def build_chart(
    events: Sequence[TimelineEvent],
    parties: Mapping[str, Sequence[str]] | None = None,
    limit: int = MAX_CHART_EVENTS,
    segment_rows: int = SEGMENT_ROWS,
) -> SequenceChart:
    """The chart of the first ``limit`` events; times are relative to the first event of ``events``.

    ``parties`` maps a party name to its addresses (``ScenarioResult.endpoints``) to name lifelines.
    """
    shown = list(events[:limit])
    names: list[str] = []
    for event in shown:
        for address in (event.src, event.dst):
            if address not in names:
                names.append(address)
    lifelines = []
    for index, name in enumerate(names):
        x = _LEFT_MARGIN + (index + 0.5) * _LANE_WIDTH
        box_width = _LANE_WIDTH - 16.0
        party = party_of(name, parties or {})
        lifelines.append(Lifeline(name, _shorten(name, _NAME_CHARS), party, x, x - box_width / 2, box_width))
    x_of = {line.name: line.x for line in lifelines}

    origin = events[0].t if events else 0.0
    arrows = []
    loop_reach = 0.0  # the right end of the widest self-message label
    for index, event in enumerate(shown):
        y = _HEADER_HEIGHT + (index % segment_rows + 0.8) * _ROW_HEIGHT
        kind = event_kind(event)
        if kind == "error":
            text = f"{event.protocol} decode error: {event.error}"
        else:
            text = f"{event.protocol} {event.message}"
        x1, x2 = x_of[event.src], x_of[event.dst]
        if x1 == x2:
            # A message an endpoint sends itself (or a decode error with one known address): a loop.
            right = x1 + _SELF_LOOP_WIDTH
            bottom = y + _ROW_HEIGHT * 0.35
            path = f"M{x1:.1f},{y:.1f} H{right:.1f} V{bottom:.1f} H{x1 + _HEAD_LENGTH:.1f}"
            head = _head(x1, bottom, -1.0)
            label_x, anchor = right + 6.0, "start"
            # The label may run across the next lane: rows never share a y, so nothing overlaps.
            room = _LANE_WIDTH - _SELF_LOOP_WIDTH - 12.0
            loop_reach = max(loop_reach, right + 6.0 + room)
        else:
            direction = 1.0 if x2 > x1 else -1.0
            path = f"M{x1:.1f},{y:.1f} H{x2 - direction * _HEAD_LENGTH:.1f}"
            head = _head(x2, y, direction)
            label_x, anchor = (x1 + x2) / 2, "middle"
            room = abs(x2 - x1)
        label = _shorten(text, int(room / _CHAR_WIDTH))
        arrows.append(
            Arrow(
                kind=kind,
                frame=event.frame,
                time_label=f"+{format_ms(event.t - origin)} ms",
                y=y,
                path=path,
                head=head,
                label=label,
                label_x=label_x,
                label_anchor=anchor,
                title=(
                    f"frame {event.frame}, {endpoint(event.src, event.sport)} -> "
                    f"{endpoint(event.dst, event.dport)}: {text}"
                ),
            )
        )
    segments = []
    for start in range(0, len(arrows), segment_rows):
        part = tuple(arrows[start : start + segment_rows])
        lifeline_bottom = _HEADER_HEIGHT + (len(part) + 0.6) * _ROW_HEIGHT
        segments.append(ChartSegment(part, lifeline_bottom + _BOTTOM_MARGIN, lifeline_bottom))
    width = max(_LEFT_MARGIN + max(len(lifelines), 2) * _LANE_WIDTH, loop_reach)
    return SequenceChart(
        width=width,
        lifelines=tuple(lifelines),
        segments=tuple(segments),
        lifeline_top=_HEADER_HEIGHT - 14.0,
        total_events=len(events),
    )
