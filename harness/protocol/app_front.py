"""supportedAppProtocol across DIN SPEC 70121, ISO 15118-2 and ISO 15118-20 DC: one connection, the session
core of whichever protocol the handshake chose (DIN SPEC 70121 8.2 / ISO 15118-2 8.2 / ISO 15118-20 8.2).

The DC session machines of :mod:`harness.protocol.din70121` speak DIN SPEC 70121 and ISO 15118-2 (through
their profiles); the -20 machines of :mod:`harness.protocol.iso15118_20` speak -20 DC.  Each negotiates
its own protocols.  A front holds one *candidate* core per family and lets the right one run the session:

- :class:`SeccFront`: the first supportedAppProtocolReq is negotiated over every candidate's protocols
  (the EVCC's best Priority wins) and handed, with the LinkUp that precedes it, to the candidate that has
  the chosen namespace; that core answers it itself (its own negotiation over its own protocols picks the
  same entry, since the winner is among them with the best Priority) and serves the session.
- :class:`EvccFront`: every candidate starts (LinkUp) and its supportedAppProtocolReq is merged into one
  offer, candidates in order of preference and each one's own entries in its order (Priority 1, 2, ...);
  the supportedAppProtocolRes goes to the candidate whose SchemaID the SECC chose.

Until the choice the first candidate (the *primary*) is the one that runs: its timers guard the handshake,
it answers anything else, and a failed negotiation is its to handle.  After it the front is the chosen
core: events, deadlines and attributes (``session``, ``result``, ...) are its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.protocol.core import LinkUp, MessageReceived, Send
from harness.protocol.din70121 import app_protocol
from harness.protocol.din70121.app_protocol import SupportedProtocol

APP_REQUEST = "supportedAppProtocolReq"
APP_RESPONSE = "supportedAppProtocolRes"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A session core and the protocols it speaks (as it offers or accepts them in supportedAppProtocol)."""

    protocols: tuple[SupportedProtocol, ...]
    core: Any


def _app_content(message: Any, name: str) -> dict[str, Any] | None:
    if isinstance(message, dict) and isinstance(message.get(name), dict):
        return message[name]
    return None


class _Front:
    """What both fronts share: the active core and delegation to it."""

    def __init__(self, candidates: Sequence[Candidate]) -> None:
        if not candidates:
            raise ValueError("a front needs at least one candidate core")
        self.candidates = tuple(candidates)
        self.active: Any = self.candidates[0].core
        self.chosen: Candidate | None = None

    def _choose(self, candidate: Candidate) -> None:
        self.chosen, self.active = candidate, candidate.core

    def next_deadline(self) -> float | None:
        deadline: float | None = self.active.next_deadline()
        return deadline

    def due_timers(self, now: float) -> list[str]:
        return list(self.active.due_timers(now))

    def __getattr__(self, name: str) -> Any:
        # Never our own fields (copy and pickle look attributes up before __init__ ran).
        if name.startswith("_") or name in ("candidates", "active", "chosen"):
            raise AttributeError(name)
        return getattr(self.active, name)


class SeccFront(_Front):
    """The SECC side: the first supportedAppProtocolReq picks the candidate that serves the connection."""

    def handle(self, event: Any, now: float) -> list[Any]:
        if self.chosen is None and isinstance(event, MessageReceived):
            content = _app_content(event.message, APP_REQUEST)
            if content is not None:
                candidate = self._negotiated(content)
                if candidate is not None and candidate is not self.candidates[0]:
                    self._choose(candidate)
                    # The chosen core starts now: its own LinkUp (arming its sequence timer, which the
                    # request it gets next cancels) and then the request, which it answers itself.
                    return [*candidate.core.handle(LinkUp(), now), *candidate.core.handle(event, now)]
                self._choose(self.candidates[0])
        actions: list[Any] = self.active.handle(event, now)
        return actions

    def _negotiated(self, content: dict[str, Any]) -> Candidate | None:
        every = [protocol for candidate in self.candidates for protocol in candidate.protocols]
        negotiation = app_protocol.negotiate(content, every)
        if not negotiation.ok:
            return None
        return next(
            c for c in self.candidates if any(p.namespace == negotiation.namespace for p in c.protocols)
        )


class EvccFront(_Front):
    """The EVCC side: one merged offer from every candidate; the SECC's choice picks the one that goes on."""

    def __init__(self, candidates: Sequence[Candidate]) -> None:
        super().__init__(candidates)
        # SchemaID -> the candidate that offered it.
        self._offered: dict[int, Candidate] = {}

    def handle(self, event: Any, now: float) -> list[Any]:
        if self.chosen is None and not self._offered and isinstance(event, LinkUp):
            return self._offer(now)
        if self.chosen is None and isinstance(event, MessageReceived):
            content = _app_content(event.message, APP_RESPONSE)
            if content is not None:
                chosen = app_protocol.accepted(content, list(self._offered))
                self._choose(self._offered[chosen] if chosen is not None else self.candidates[0])
        actions: list[Any] = self.active.handle(event, now)
        return actions

    def _offer(self, now: float) -> list[Any]:
        """LinkUp to every candidate; their offers merged into one, in place of the primary's (whose other
        actions, the timers that guard the handshake, are kept; the others' wait until one is chosen)."""
        entries: list[dict[str, Any]] = []
        primary: list[Any] = []
        for index, candidate in enumerate(self.candidates):
            for action in candidate.core.handle(LinkUp(), now):
                content = _app_content(action.message, APP_REQUEST) if isinstance(action, Send) else None
                if content is None:
                    if index == 0:
                        primary.append(action)
                    continue
                if index == 0:
                    primary.append(None)  # where the merged offer goes
                offers = content.get("AppProtocol", [])
                for entry in [offers] if isinstance(offers, dict) else offers:
                    schema_id = int(entry["SchemaID"])
                    if schema_id in self._offered:
                        raise ValueError(f"two candidates offer SchemaID {schema_id}")
                    self._offered[schema_id] = candidate
                    entries.append(dict(entry))
        for priority, entry in enumerate(entries, start=1):
            entry["Priority"] = priority
        merged = Send({APP_REQUEST: {"AppProtocol": entries}}, APP_REQUEST)
        return [merged if action is None else action for action in primary]
