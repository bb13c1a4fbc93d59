"""Small decrypted IEEE 2030.5 timelines for the tests of the DER judges: one HTTP connection between the
tester and the DUT, each message placed at a server time (the Time responses' clock, running SPEEDUP
times the capture clock from S0 at capture time T0).

:class:`ClientTimeline` has the DUT as the DER client (the tester serves the function set),
:class:`ServerTimeline` the DUT as the server (the tester follows it as a client)."""

from __future__ import annotations

from typing import Any

from capture.timeline import TimelineEvent
from harness.verdict.expectations import Parties

TESTER, DUT = "fe80::1", "fe80::2"
PARTIES = Parties(frozenset({TESTER}))
SPEEDUP = 120.0
T0 = 1000.0  # capture time of the first Time response
S0 = 1_767_225_600  # its currentTime
CLIENT_PORT = 50000
HTTP_OK = 200
REPLY_TO = "/rsps/2/rsp"


def wall(server_s: float) -> float:
    """The capture time at which the server's clock reads ``server_s``."""
    return T0 + (server_s - S0) / SPEEDUP


class DerTimeline:
    """Requests of one side and answers of the other (``server``, listening on ``server_port``)."""

    def __init__(self, server: str, server_port: int) -> None:
        self.events: list[TimelineEvent] = []
        self.server, self.server_port = server, server_port
        self.client = DUT if server == TESTER else TESTER

    def _add(self, t: float, src: str, message: str, fields: dict[str, Any]) -> int:
        frame = len(self.events) + 1
        if src == self.server:
            dst, sport, dport = self.client, self.server_port, CLIENT_PORT
        else:
            dst, sport, dport = self.server, CLIENT_PORT, self.server_port
        self.events.append(TimelineEvent(t, frame, src, dst, "HTTP", message, fields, None, sport, dport))
        return frame

    def answer(
        self, server_s: float, path: str, root: str, resource: dict[str, Any], status: int = HTTP_OK
    ) -> int:
        """The client GETs ``path``, the server answers (with a ``root`` body when ``status`` is 200)."""
        t = wall(server_s)
        self._add(t - 0.001, self.client, f"GET {path}", {"method": "GET", "path": path})
        if status != HTTP_OK:
            return self._add(t, self.server, str(status), {"status": status})
        return self._add(
            t, self.server, f"{status} {root}", {"status": status, "root": root, "resource": resource}
        )

    def send(
        self, server_s: float, method: str, path: str, root: str, resource: dict[str, Any] | None = None
    ) -> int:
        """A write of the client (its body left out when ``resource`` is None)."""
        fields: dict[str, Any] = {"method": method, "path": path, "root": root}
        if resource is not None:
            fields["resource"] = resource
        return self._add(wall(server_s), self.client, f"{method} {path}", fields)

    def time(self, server_s: int) -> int:
        return self.answer(server_s, "/tm", "Time", {"href": "/tm", "currentTime": server_s})

    def default(self, server_s: float, program: str, **modes: Any) -> int:
        body = {"href": f"{program}/dderc", "mRID": "D" * 32, "DERControlBase": dict(modes)}
        return self.answer(server_s, f"{program}/dderc", "DefaultDERControl", body)

    def controls(self, server_s: float, program: str, *controls: dict[str, Any]) -> int:
        body = {"href": f"{program}/derc", "all": len(controls), "DERControl": list(controls)}
        return self.answer(server_s, f"{program}/derc", "DERControlList", body)


def der_control(
    mrid: str,
    start: int,
    duration: int,
    modes: dict[str, Any],
    *,
    status: int = 0,
    created: int = S0,
    since: int = S0,
) -> dict[str, Any]:
    """A DERControl of program /derp/2 in the capture's dict form."""
    return {
        "href": f"/derp/2/derc/{mrid[-1]}",
        "mRID": mrid,
        "creationTime": created,
        "EventStatus": {"currentStatus": status, "dateTime": since},
        "interval": {"duration": duration, "start": start},
        "DERControlBase": modes,
    }


# --- the DUT as the DER client ---------------------------------------------------------------------------

MUP_MRID = "C" * 32


class ClientTimeline(DerTimeline):
    """The tester serves the DER function set (port 443), the DUT polls and posts."""

    def __init__(self) -> None:
        super().__init__(TESTER, 443)

    def failed(self, server_s: float, path: str = "/tm") -> int:
        return self.answer(server_s, path, "", {}, status=503)

    def programs(self, server_s: float, *programs: tuple[str, int]) -> int:
        listed = [{"href": h, "mRID": f"{i:032X}", "primacy": p} for i, (h, p) in enumerate(programs, 1)]
        body = {"href": "/derp", "pollRate": 120, "all": len(listed), "DERProgram": listed}
        return self.answer(server_s, "/derp", "DERProgramList", body)

    def response(self, server_s: float, mrid: str, status: int) -> int:
        body = {"subject": mrid, "status": status, "createdDateTime": int(server_s)}
        return self.send(server_s, "POST", REPLY_TO, "DERControlResponse", body)

    def settings(self, server_s: float, set_max_w: int = 7200) -> int:
        body = {
            "setMaxW": {"multiplier": 0, "value": set_max_w},
            "setMaxDischargeRateW": {"multiplier": 0, "value": set_max_w},
        }
        return self.send(server_s, "PUT", "/edev/1/der/1/derg", "DERSettings", body)

    def mirror(self, server_s: float) -> int:
        body = {
            "MirrorMeterReading": {"mRID": MUP_MRID, "ReadingType": {"uom": 38, "powerOfTenMultiplier": 0}}
        }
        return self.send(server_s, "POST", "/mup", "MirrorUsagePoint", body)

    def reading(self, server_s: float, watts: int, period: tuple[int, int] | None = None) -> int:
        """A real-power reading posted at ``server_s``; its timePeriod ``period`` (start, duration), or
        only a start at ``server_s``."""
        body = {"mRID": MUP_MRID, "Reading": {"value": watts, "timePeriod": time_period(server_s, period)}}
        return self.send(server_s, "POST", "/mup/1", "MirrorMeterReading", body)


def time_period(server_s: float, period: tuple[int, int] | None) -> dict[str, int]:
    if period is None:
        return {"start": int(server_s)}
    return {"start": period[0], "duration": period[1]}


def control(
    mrid: str, start: int, duration: int, *, required: int = 3, status: int = 0, **modes: Any
) -> dict[str, Any]:
    """A DERControl the tester serves a DER client: a response required, a fixedW of unknown value unless
    ``modes`` say otherwise."""
    base = modes or {"opModFixedW": {"disabled": "false"}}
    return {
        **der_control(mrid, start, duration, base, status=status),
        "replyTo": REPLY_TO,
        "responseRequired": required,
    }


# --- the DUT as the DER server ---------------------------------------------------------------------------

SERVER_PORT = 8443
POLL = 120


class ServerTimeline(DerTimeline):
    """The DUT serves the DER function set (port 8443), the tester polls and writes."""

    def __init__(self) -> None:
        super().__init__(DUT, SERVER_PORT)

    def write(self, server_s: float, method: str, path: str, root: str, status: int) -> tuple[int, int]:
        request = self.send(server_s, method, path, root)
        return request, self._add(wall(server_s) + 0.001, self.server, str(status), {"status": status})

    def programs(self, server_s: float, primacy: Any = 10, default: bool = True) -> int:
        program: dict[str, Any] = {"href": "/derp/2", "mRID": "2" * 32, "primacy": primacy}
        if default:
            program["DefaultDERControlLink"] = {"href": "/derp/2/dderc"}
        body = {"href": "/derp", "pollRate": POLL, "all": 1, "DERProgram": [program]}
        return self.answer(server_s, "/derp", "DERProgramList", body)

    def curve(self, server_s: float, href: str) -> int:
        return self.answer(server_s, href, "DERCurve", {"href": href, "curveType": 0})

    def texts(self, server_s: float, *texts: str) -> int:
        listed = [{"href": f"/msg/1/txt/{i}", "textMessage": text} for i, text in enumerate(texts, 1)]
        return self.answer(server_s, "/msg/1/txt", "TextMessageList", {"TextMessage": listed})


def served_control(
    mrid: str, start: int, duration: int, *, created: int = S0, status: int = 0, since: int = S0, **modes: Any
) -> dict[str, Any]:
    """A DERControl a DER server serves: a fixedW of 50 % unless ``modes`` say otherwise."""
    base = modes or {"opModFixedW": {"value": 5000}}
    return der_control(mrid, start, duration, base, status=status, created=created, since=since)
