"""Lab configuration: who the DUT is, how to reach it, what it supports (PICS) and the lab's
parameters (PIXIT).  Validated with pydantic; unknown keys are errors.

Every field carries a description: `vgi lab schema` and the README's lab config reference are
generated from these models, so this file is the one place that documents the format.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

# The lab is at the edge: it may name what the reference devices offer (they never import the lab).
from harness.devices.catalog import SIM_FAULTS, SIM_ROLES
from harness.devices.sep2.clock import DER_SIM_SPEEDUP

ROLES = {
    "evcc": "EV communication controller (ISO 15118 / DIN SPEC 70121 client)",
    "secc": "supply equipment communication controller (ISO 15118 / DIN SPEC 70121 server)",
    "ev": "electric vehicle as a whole (pilot, SLAC, IEEE 2030.5 client)",
    "evse": "EV supply equipment as a whole (pilot, SLAC, IEEE 2030.5 client or bridge)",
    "dc-charger": "DC power converter (DCPC) as an IEEE 2030.5 client (interface 3)",
    "pfe-server": "utility (power flow entity) IEEE 2030.5 server",
    "bms": "site controller / building management system (IEEE 2030.5 server and client)",
    "meter": "energy meter (IEEE 2030.5 MirrorUsagePoint client, interface 9)",
    "telematics": "OEM telematics (IEEE 2030.5 client over the internet path, interface 6)",
}
INTERFACES = range(1, 10)
PROTOCOLS = {
    "sdp": "SECC Discovery Protocol (ISO 15118-2 7.10.1)",
    "din70121": "DIN SPEC 70121 / SAE J2847/2 DC charging messages",
    "iso15118-2": "ISO 15118-2 messages",
    "iso15118-20": "ISO 15118-20 messages",
    "slac": "SLAC link matching (ISO 15118-3)",
    "pilot": "J1772 / IEC 61851-1 control pilot",
    "ieee2030.5": "IEEE 2030.5 (SEP2) over HTTPS",
}
# Optional features a DUT may or may not support; scenarios tag `@pics:<key>` to depend on one.
PICS_OPTIONS = {
    "sdp.tls": (
        "TLS for ISO 15118-2 (security byte 0x00 in SDP): an SECC offers it and serves TLS 1.2 with its V2G "
        "certificate chain (PIXIT certificates `v2g_pki`, made by `vgi pki init --v2g`); an EVCC can use it. "
        "The `@tls` scenarios are NOT_APPLICABLE without it"
    ),
    "sdp.no_tls": "the SECC offers plain TCP in SDP (security byte 0x10)",
    "slac.validate": (
        "the EV/EVSE uses CM_VALIDATE (pilot toggles) before CM_SLAC_MATCH (ISO 15118-3 A.9.2.6)"
    ),
    "sep2.dnssd": (
        "IEEE 2030.5 discovery by DNS-SD (default true): the tester as server advertises "
        "`_smartenergy._tcp` (TXT txtvers, dcap, https, level; function-set subtypes incl. `edev`) on the "
        "DUT-facing interface, and a client DUT is expected to query for it; set false for a DUT configured "
        "with the server's URL (no advertising, the DNS-SD scenarios are NOT_APPLICABLE)"
    ),
    "sep2.j3072_authorizer": (
        "the EVSE authorizes an EV's on-board inverter for export at its site (SAE J3072), serving it "
        "IEEE 2030.5 DER programs: the interface 5 DER scenarios; false (the default) makes them "
        "NOT_APPLICABLE, e.g. for an EVSE that is only a 2030.5 client of its site controller"
    ),
    "der.flow_reservation": (
        "the EV as an IEEE 2030.5 DER client asks its site for a discharge window by FlowReservationRequest "
        "(SAE J2836/3; an optional function set): the scenario of the discharge window; false (the "
        "default) makes it NOT_APPLICABLE"
    ),
    "bpt.v2h": (
        "SAE J2847/2 V2H on ISO 15118-2: the SECC offers the V2H value-added service (ServiceID 28472), the "
        "EVCC selects it when offered and discharges to serve the home load: the @bpt V2H scenarios"
    ),
    "bpt.v2g": (
        "SAE J2847/2 V2G on ISO 15118-2: the SECC offers the V2G value-added service (ServiceID 28473) and "
        "asks for discharge with negative limits, the EVCC selects it when offered: the @bpt V2G scenarios"
    ),
    "iso20.dc_bpt": (
        "ISO 15118-20 DC_BPT (ServiceID 6) besides DC (2): an SECC offers it, an EVCC selects it when "
        "offered and discharges (Scheduled control, discharge limits on both sides): the ISO 15118-20 @bpt "
        "scenarios"
    ),
}
# PICS options that count as true unless the lab states them false.
PICS_OPTION_DEFAULTS = {"sep2.dnssd": True}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DutConfig(_Strict):
    vendor: str = Field(description="manufacturer of the device under test")
    model: str = Field(description="model name or number")
    firmware: str = Field(description="firmware or software version under test")
    serial: str = Field(description="serial number of the unit under test")
    roles: list[str] = Field(
        min_length=1,
        description="roles the DUT plays: "
        + ", ".join(ROLES)
        + ". Scenarios for other roles are NOT_APPLICABLE.",
    )
    interfaces: list[int] = Field(
        min_length=1,
        description="VGI interfaces (1-9) under test; scenarios for other interfaces are not run",
    )

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, value: list[str]) -> list[str]:
        unknown = [r for r in value if r not in ROLES]
        if unknown:
            raise ValueError(f"unknown role(s) {unknown}; known: {sorted(ROLES)}")
        return value

    @field_validator("interfaces")
    @classmethod
    def _known_interfaces(cls, value: list[int]) -> list[int]:
        bad = [i for i in value if i not in INTERFACES]
        if bad:
            raise ValueError(f"interface(s) {bad} outside 1-9")
        return value


class SimAccess(_Strict):
    kind: Literal["sim"] = Field(description="built-in reference devices play the DUT roles")
    faults: list[str] = Field(
        default_factory=list,
        description="fault switches of the reference devices, for demonstrating a broken DUT: "
        + "; ".join(f"`{k}`: {v}" for k, v in SIM_FAULTS.items()),
    )

    @field_validator("faults")
    @classmethod
    def _known_faults(cls, value: list[str]) -> list[str]:
        unknown = [f for f in value if f not in SIM_FAULTS]
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; known: {sorted(SIM_FAULTS)}")
        return value


class TcpAccess(_Strict):
    kind: Literal["tcp"] = Field(description="the DUT is already running and reachable over IP")
    interface: str = Field(
        description="local network interface that faces the DUT (SDP multicast and capture)"
    )
    host: str | None = Field(
        default=None, description="DUT address (IPv6 link-local without scope, or any IP)"
    )
    port: int | None = Field(
        default=None, ge=1, le=65535, description="DUT TCP port, when not discovered by SDP"
    )


class PlcAccess(_Strict):
    kind: Literal["plc"] = Field(description="the DUT is reached through a HomePlug Green PHY modem")
    interface: str = Field(description="the Ethernet interface the modem is plugged into")


class ProcessAccess(_Strict):
    kind: Literal["process"] = Field(
        description="the harness starts an external implementation inside a network namespace it creates"
    )
    command: list[str] = Field(
        min_length=1,
        description="argv of the DUT; `{interface}` is replaced by the DUT-side interface name, "
        "`{lab_dir}` by the lab file's folder, `{role}` by the role the scenario needs and `{python}` "
        "by the harness's own Python interpreter. IEEE 2030.5 DUTs also get `{pki_dir}` (the lab PKI "
        "made by `vgi pki init`, PIXIT certificates `sep2_pki`), `{dut_cert}` and `{dut_key}` (PIXIT "
        "certificates `dut_cert`/`dut_key`, else the lab PKI's chain and key for the role), "
        "`{trust_anchor}` (PIXIT certificates `trust_anchor`, else the lab SERCA), `{dut_lfdi}` and "
        "`{dut_sfdi}` (from that certificate), `{tester_host}` (the tester's address as the DUT "
        "reaches it, with `%interface` zone when link-local), `{tester_port}` (the tester's 2030.5 "
        "TLS port) and `{dcap_url}` (https URL of the tester's DeviceCapability, RFC 6874 zone "
        "`%25interface`)",
    )
    netns: str = Field(
        default="vgi-dut",
        pattern=r"^[A-Za-z0-9_.-]{1,28}$",
        description="network namespace name; with `vgi run --jobs` above 1 each worker appends its id "
        "(`-gw0`, `-gw1`, ...) and starts a DUT process of its own",
    )
    interface: str = Field(
        default="vgi-dut0", pattern=r"^[A-Za-z0-9_.-]{1,15}$", description="DUT-side veth interface name"
    )
    env: dict[str, str] = Field(default_factory=dict, description="extra environment variables for the DUT")
    ready_pattern: str | None = Field(
        default=None,
        description="regular expression the DUT prints (stdout or stderr) once it is ready; without it the "
        "harness waits `startup_s`",
    )
    startup_s: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="seconds to wait for `ready_pattern`, or to wait blindly without one",
    )
    modem: Literal["none", "emulated"] = Field(
        default="none",
        description="`emulated`: before the DUT, the harness starts one emulated HomePlug Green PHY modem "
        "(`vgi sim modem`) in the DUT's namespace on the DUT's interface, for a SLAC stack that talks to its "
        "local modem (CM_SET_KEY, CM_ATTEN_PROFILE.IND, VS_NW_INFO; IPv6 off until matched); its output goes "
        "to the DUT log. The DUT's socket must listen to every ethertype (ETH_P_ALL) to hear the modem",
    )
    auto_jobs: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="how many copies of the DUT `vgi run --jobs auto` runs at once, each on a bench of its "
        "own; left out: the harness's default (4). Give 1 for a DUT whose own answer times suffer when "
        "copies share the machine (josev: each copy runs a JVM), so that its verdicts do not depend on "
        "the load; `--jobs N` still runs N",
    )


class ManualAccess(_Strict):
    kind: Literal["manual"] = Field(description="an operator connects and triggers the DUT when prompted")
    interface: str = Field(description="local network interface that faces the DUT")
    ack_timeout_s: float = Field(
        default=300.0,
        gt=0,
        le=86400,
        description="how long the harness waits for the operator to acknowledge a prompt (ENTER on the "
        "terminal, or the acknowledgement file of `vgi run --ack-file` / `VGI_ACK_FILE`); then the "
        "scenario is INCONCLUSIVE with the prompt it waited on as the reason",
    )
    instructions: dict[str, str] = Field(
        default_factory=dict,
        description="what the operator does to start the DUT in a role, in this lab's words (which "
        "cable, socket or button), by role (`evcc`, `secc`, `ev`, `evse`, ...); a role without one gets "
        "the harness's generic wording. The prompt adds what the harness then waits for",
    )


Access = Annotated[
    SimAccess | TcpAccess | PlcAccess | ProcessAccess | ManualAccess,
    Field(discriminator="kind"),
]

# Access kinds whose DUT the harness starts itself, once per bench, in a network namespace it makes.
HARNESS_STARTED_ACCESS = ("sim", "process")
# What a station may set of the lab's access, by access kind: where that unit is and how it is reached
# (tcp: interface, address, port; plc: the modem's Ethernet interface; manual: interface and the
# operator's wording, e.g. which socket; process: the argv and environment of its instance).  The
# rest is the lab's, the same for every unit: `kind` (one campaign reaches its units one way), sim
# `faults` (a verdict must not depend on the unit that ran it), process `netns`/`interface` (each
# worker's instance already gets a namespace of its own), timeouts and start-up settings (the
# product's, not the unit's).
STATION_ACCESS_FIELDS: dict[str, tuple[str, ...]] = {
    "sim": (),
    "tcp": ("interface", "host", "port"),
    "plc": ("interface",),
    "manual": ("interface", "instructions"),
    "process": ("command", "env"),
}
# Access kinds whose units each sit behind a network interface of this machine: two stations on one
# interface would answer each other's SDP multicast and show up in each other's captures.
_INTERFACE_PER_STATION = ("tcp", "plc", "manual")


class Station(_Strict):
    name: str = Field(
        pattern=r"^[A-Za-z0-9_.-]{1,32}$",
        description="short name of the unit or bench, unique among the stations; the report shows it per "
        "scenario and file names use it (a `manual` station's acknowledgement file is `<ack file>.<name>`)",
    )
    serial: str | None = Field(
        default=None,
        description="serial number of this unit (default: `dut.serial`); each station's serial is unique",
    )
    firmware: str | None = Field(default=None, description="firmware of this unit (default: `dut.firmware`)")
    access: dict[str, object] = Field(
        default_factory=dict,
        description="where this unit is: access fields over the lab's `access`, by kind: "
        + "; ".join(
            f"`{kind}`: " + (", ".join(f"`{f}`" for f in fields) if fields else "none")
            for kind, fields in STATION_ACCESS_FIELDS.items()
        )
        + ". A `tcp`, `plc` or `manual` station's interface is its own",
    )


class NetworkConfig(_Strict):
    mode: Literal["auto", "netns", "loopback"] = Field(
        default="auto",
        description="for `sim` and `process` DUTs: `netns` puts tester and DUT on a veth pair between two "
        "network namespaces (needs root), `loopback` uses ::1, `auto` picks netns when permitted",
    )


class CaptureConfig(_Strict):
    backend: Literal["auto", "packet", "dumpcap", "scapy", "tap"] = Field(
        default="auto",
        description="`packet` (a Linux packet socket, root: frames written as they pass, so a scenario's "
        "capture stops at once), `dumpcap` (needs tshark and capture rights; 0.4-0.8 s to stop, its "
        "write-behind), `scapy` (root), `tap` (the harness records what its own transports send and receive; "
        "no privileges); `auto` takes the first that works, in that order",
    )


class Pics(_Strict):
    protocols: list[str] = Field(description="protocols the DUT implements: " + ", ".join(PROTOCOLS))
    options: dict[str, bool] = Field(
        default_factory=dict,
        description="optional features: " + "; ".join(f"`{k}`: {v}" for k, v in PICS_OPTIONS.items()),
    )

    @field_validator("protocols")
    @classmethod
    def _known_protocols(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if p not in PROTOCOLS]
        if unknown:
            raise ValueError(f"unknown protocol(s) {unknown}; known: {sorted(PROTOCOLS)}")
        return value

    @field_validator("options")
    @classmethod
    def _known_options(cls, value: dict[str, bool]) -> dict[str, bool]:
        unknown = [k for k in value if k not in PICS_OPTIONS]
        if unknown:
            raise ValueError(f"unknown PICS option(s) {unknown}; known: {sorted(PICS_OPTIONS)}")
        return value

    def supports(self, key: str) -> bool:
        """A protocol name or an option key; an option the lab does not state counts as absent."""
        return key in self.protocols or self.options.get(key, PICS_OPTION_DEFAULTS.get(key, False))


class TimerOverride(_Strict):
    value_s: float = Field(gt=0, description="the value the DUT's documentation or the lab uses, in seconds")
    clause: str = Field(min_length=3, description="the clause this overrides, e.g. 'ISO 15118-2 Table 109'")
    reason: str = Field(default="", description="why the lab deviates from the standard's value")


class Pixit(_Strict):
    timers: dict[str, TimerOverride] = Field(
        default_factory=dict, description="overrides of protocol timers by name (`vgi lab timers` lists them)"
    )
    capture_jitter_s: float = Field(
        default=0.002,
        ge=0,
        le=0.1,
        description="tolerance for timestamps taken by the capture, applied to lower timing bounds only",
    )
    addresses: dict[str, str] = Field(
        default_factory=dict,
        description="named addresses the lab uses (e.g. `secc: fe80::1`); `sep2_server`: the URL of an "
        "IEEE 2030.5 server DUT's DeviceCapability (e.g. `https://[fe80::1]:8443/dcap`), used instead of "
        "DNS-SD discovery",
    )
    certificates: dict[str, str] = Field(
        default_factory=dict,
        description="named certificate or key file paths, relative to the lab file. IEEE 2030.5: `sep2_pki` "
        "(a lab PKI directory made by `vgi pki init`), `dut_cert` (the DUT's certificate, PEM, device "
        "certificate first: the tester registers its LFDI/SFDI), `dut_key`, `trust_anchor` (the SERCA the "
        "DUT's own PKI chains to: the tester trusts it), `tester_cert` and `tester_key` (the tester's own "
        "certificate chain and key, issued under the DUT's PKI); each file must exist and parse. "
        "ISO 15118-2: `v2g_pki` (a V2G PKI directory made by `vgi pki init --v2g`: the SECC's chain and the "
        "V2G root the EV trusts; default: one made once in the user's cache). ISO 15118-20: `v2g20_pki` (a "
        "directory made by `vgi pki init --v2g20`: the SECC's and the vehicle's chains for mutual TLS 1.3; "
        "default: one made once in the user's cache)",
    )
    sep2_registration_pin: int | None = Field(
        default=None,
        ge=0,
        le=999_999,
        description="IEEE 2030.5 registration PIN the tester as server gives the DUT's EndDevice "
        "(Registration.pIN, clause 6.3.4; 5 digits and a check digit); default the simulated lab's 111115",
    )
    sep2_clock_speedup: float | None = Field(
        default=None,
        gt=0,
        le=3600,
        description="IEEE 2030.5 DER scenarios: how many times faster than the wall clock the lab's clock "
        "runs (server Time, DERControl intervals, pollRate are all in that simulated time); left out: "
        f"{DER_SIM_SPEEDUP:g} for `sim` access (1 wall second = {DER_SIM_SPEEDUP / 60:g} simulated minutes), "
        "1 (real time) otherwise. A real DUT's own clock must agree, so set it only for a DUT that follows "
        "the tester's Time resource",
    )
    der_response_slack_polls: float = Field(
        default=1.0,
        ge=0,
        le=10,
        description="IEEE 2030.5 DER scenarios: slack on every window the DER oracle gives a "
        "DERControlResponse, in poll periods (the DUT acts on what its last poll showed)",
    )
    der_power_tolerance_w: float = Field(
        default=200.0,
        ge=0,
        le=10_000,
        description="IEEE 2030.5 DER scenarios: how far a DUT's real-power reading may stray from what the "
        "modes in effect allow, in W (the default is under 3 % of a 7.2 kW on-board inverter)",
    )
    der_settle_polls: int = Field(
        default=2,
        ge=0,
        le=20,
        description="IEEE 2030.5 DER scenarios: a mode is judged by a reading once it has been in effect "
        "this many poll periods (the DUT learns it on its next poll) plus `der_settle_margin_s`",
    )
    der_settle_margin_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="IEEE 2030.5 DER scenarios: simulated seconds added to the settle time: one reading "
        "period of the DUT's MirrorMeterReadings and its ramp to the new power",
    )
    der_power_factor_tolerance: float = Field(
        default=0.02,
        ge=0,
        le=0.5,
        description="IEEE 2030.5 DER scenarios: how far the power factor of a DUT's real- and reactive-power "
        "readings may stray from the opModFixedPFInjectW / opModFixedPFAbsorbW displacement commanded",
    )
    der_var_tolerance_var: float = Field(
        default=150.0,
        ge=0,
        le=10_000,
        description="IEEE 2030.5 DER scenarios: how far a DUT's reactive-power reading may stray from what "
        "its opModVoltVar curve gives at the grid voltage it reports, in var (the default is about 4 % of "
        "a 3.6 kvar on-board inverter); freq-watt readings use `der_power_tolerance_w`",
    )
    der_grid_loop_latency_s: float | None = Field(
        default=None,
        gt=0,
        le=86_400,
        description="Grid-to-EV loop (interfaces 3 + 4): the longest a DC charger may take from a discharge "
        "control's effective start to its first CurrentDemandRes asking the EV for the discharge, in "
        "simulated (lab-clock) seconds; left out: one DERProgramList pollRate (the charger learns of the "
        "control at its next poll) plus 3 CurrentDemand cycles as the capture shows them (the EV's next "
        "request, the answer, the capture's jitter)",
    )
    sdp_silent_requests: int = Field(
        default=3,
        ge=0,
        le=49,
        description="how many SDP requests the tester ignores in the EVCC retry scenarios",
    )

    @field_validator("timers")
    @classmethod
    def _known_timers(cls, value: dict[str, TimerOverride]) -> dict[str, TimerOverride]:
        from harness.lab.timers import known_timers

        known = known_timers()
        unknown = [k for k in value if k not in known]
        if unknown:
            raise ValueError(f"unknown timer(s) {unknown}; known: {sorted(known)}")
        return value

    def timer(self, name: str) -> float:
        from harness.lab.timers import known_timers

        override = self.timers.get(name)
        return override.value_s if override else known_timers()[name].default_s


class PilotConfig(_Strict):
    driver: str | None = Field(
        default="sim",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="the pilot driver the tester holds the control pilot with, by its name in the entry "
        "point group `vgi.pilot_drivers`: `sim` (the simulated pilot on the test link, whose records the "
        "capture shows), `loopback` (in memory) or a lab's pilot test box driver; `null`: the pilot is held "
        "outside the harness (a box the operator sets)",
    )
    options: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="keyword options the driver is built with (e.g. the box's address); `sim` and "
        "`loopback` take none",
    )

    @field_validator("driver")
    @classmethod
    def _installed_driver(cls, value: str | None) -> str | None:
        from harness.transport.pilot import PILOT_DRIVER_ENTRY_POINT_GROUP, available_pilot_drivers

        known = available_pilot_drivers()
        if value is not None and value not in known:
            raise ValueError(
                f"no pilot driver {value!r} installed in entry point group "
                f"{PILOT_DRIVER_ENTRY_POINT_GROUP!r}; known: {sorted(known)}"
            )
        return value


class LabConfig(_Strict):
    name: str = Field(
        pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="short lab name, used in run directory names"
    )
    description: str = Field(default="", description="free text for the report")
    dut: DutConfig = Field(description="identity of the device under test and what it plays")
    access: Access
    network: NetworkConfig = Field(
        default_factory=NetworkConfig, description="how tester and DUT are connected"
    )
    capture: CaptureConfig = Field(default_factory=CaptureConfig, description="how the evidence is captured")
    pics: Pics = Field(description="protocol implementation conformance statement: what the DUT supports")
    pixit: Pixit = Field(
        default_factory=Pixit,
        description="protocol implementation extra information for testing: lab parameters",
    )
    pilot: PilotConfig = Field(
        default_factory=PilotConfig,
        description="how the tester holds the control pilot; left out: driver `sim`, except on `plc` labs "
        "where it is `null` (the lab's pilot box is outside the harness)",
    )
    stations: list[Station] = Field(
        default_factory=list,
        description="several units of the DUT (or benches), each with its own interface and identity: "
        "`vgi run` runs one worker per station (`--jobs auto` is their number) and merges their "
        "scenarios into one run directory; each result names its station. Left out: one station, the "
        "lab's top level",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_pilot(cls, data: object) -> object:
        # A `plc` lab reaches a real DUT whose pilot the lab's box holds: no driver unless the lab names one.
        if isinstance(data, dict) and "pilot" not in data:
            access = data.get("access")
            kind = access.get("kind") if isinstance(access, dict) else getattr(access, "kind", None)
            if kind == "plc":
                return {**data, "pilot": {"driver": None}}
        return data

    @field_validator("stations")
    @classmethod
    def _stations_fit(cls, value: list[Station], info: ValidationInfo) -> list[Station]:
        dut, access = info.data.get("dut"), info.data.get("access")
        if dut is None or access is None:  # reported on their own
            return value
        problems = _station_problems(value, dut, access)
        if problems:
            raise ValueError("; ".join(problems))
        return value

    def station_config(self, station: Station) -> LabConfig:
        """The lab as ``station`` sees it: its access fields and DUT identity over the lab's."""
        update = {
            k: v for k, v in (("serial", station.serial), ("firmware", station.firmware)) if v is not None
        }
        return self.model_copy(
            update={
                "access": _station_access(self.access, station),
                "dut": self.dut.model_copy(update=update),
            }
        )

    def sep2_clock_speedup(self) -> float:
        """PIXIT ``sep2_clock_speedup`` with its default applied (the one place it is computed)."""
        if self.pixit.sep2_clock_speedup is not None:
            return self.pixit.sep2_clock_speedup
        return DER_SIM_SPEEDUP if self.access.kind == "sim" else 1.0

    @model_validator(mode="after")
    def _roles_fit_access(self) -> LabConfig:
        if self.access.kind == "sim":
            missing = [r for r in self.dut.roles if r not in SIM_ROLES]
            if missing:
                raise ValueError(
                    f"no reference device for role(s) {missing} yet; available: {sorted(SIM_ROLES)}"
                )
        return self


def _station_access(access: BaseModel, station: Station) -> BaseModel:
    """The lab's access with the station's fields over it, validated as the lab's access is."""
    return type(access).model_validate({**access.model_dump(), **station.access})


def _station_problems(stations: list[Station], dut: DutConfig, access: BaseModel) -> list[str]:
    kind = getattr(access, "kind", "")
    allowed = STATION_ACCESS_FIELDS.get(kind, ())
    problems: list[str] = []
    names: set[str] = set()
    serials: dict[str, str] = {}
    interfaces: dict[str, str] = {}
    for station in stations:
        label = f"station {station.name!r}"
        if station.name in names:
            problems.append(f"{label}: the name is given twice; each station's name is unique")
        names.add(station.name)
        refused = [key for key in station.access if key not in allowed]
        if refused:
            may = ", ".join(allowed) if allowed else "none of them"
            problems.append(
                f"{label}: a `{kind}` station may not set access.{', access.'.join(refused)}: that is the "
                f"lab's, the same for every station (a `{kind}` station may set: {may})"
            )
            continue
        try:
            effective = _station_access(access, station)
        except ValidationError as exc:
            problems += [
                f"{label}: access.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors(include_url=False)
            ]
            continue
        serial = station.serial if station.serial is not None else dut.serial
        if serial in serials:
            problems.append(
                f"{label}: station {serials[serial]!r} has serial {serial!r} too; give each unit its own"
            )
        serials.setdefault(serial, station.name)
        interface = getattr(effective, "interface", None)
        if kind in _INTERFACE_PER_STATION and interface is not None:
            if interface in interfaces:
                problems.append(
                    f"{label}: station {interfaces[interface]!r} is on interface {interface!r} too; each "
                    "unit needs an interface of its own (SDP multicast and the capture would mix them)"
                )
            interfaces.setdefault(interface, station.name)
    return problems
