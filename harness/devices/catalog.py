"""Which roles the built-in reference devices can play (the `sim` DUT access kind and `vgi sim`).

A role may have several services, one reference device program each (e.g. an EVSE's SLAC side and its
IEEE 2030.5 client); the first listed is the default.  Values are ``module:function`` of an async
function ``(link, settings, faults) -> None`` (:data:`harness.devices.runner.DeviceMain`) that runs the
device until cancelled.  The lab config validates its DUT roles and fault switches against this
module; the devices themselves never import the lab.
"""

from __future__ import annotations

SIM_ROLES: dict[str, dict[str, str]] = {
    "secc": {"v2g": "harness.devices.secc:run_secc"},
    "evcc": {"v2g": "harness.devices.evcc:run_evcc"},
    "ev": {"slac": "harness.devices.slac_ev:run_ev_slac"},
    "evse": {"slac": "harness.devices.slac_evse:run_evse_slac"},
}
# IEEE 2030.5 reference devices (service "sep2"), added to the roles above or as new roles.
SIM_ROLES["ev"]["sep2"] = "harness.devices.sep2.clients:run_ev_sep2"
SIM_ROLES["evse"]["sep2"] = "harness.devices.sep2.clients:run_evse_sep2"
SIM_ROLES["pfe-server"] = {"sep2": "harness.devices.sep2.servers:run_pfe_server"}
SIM_ROLES["bms"] = {"sep2": "harness.devices.sep2.servers:run_bms"}
SIM_ROLES["dc-charger"] = {"sep2": "harness.devices.sep2.clients:run_dc_charger_sep2"}
SIM_ROLES["telematics"] = {"sep2": "harness.devices.sep2.clients:run_telematics_sep2"}
SIM_ROLES["meter"] = {"sep2": "harness.devices.sep2.clients:run_meter_sep2"}
# The EV's on-board inverter as an IEEE 2030.5 DER client (service "der", README AC DER).
SIM_ROLES["ev"]["der"] = "harness.devices.sep2.der_client:run_ev_der"
# The EV's telematics as its DER client over the internet path (interface 6, README AC DER).
SIM_ROLES["telematics"]["der"] = "harness.devices.sep2.der_telematics:run_telematics_der"
# DER servers as DUTs: the PFE/BMS serving DER programs, the EVSE as J3072 authorizer (README AC DER).
SIM_ROLES["pfe-server"]["der"] = "harness.devices.sep2.der_server:run_pfe_der_server"
SIM_ROLES["bms"]["der"] = "harness.devices.sep2.der_server:run_bms_der_server"
SIM_ROLES["evse"]["der"] = "harness.devices.sep2.der_server:run_evse_der_authorizer"
# The DC power converter of the grid-to-EV loop: ISO 15118-2 SECC with SAE J2847/2 V2G on the EV link and
# IEEE 2030.5 DER client of the PFE/BMS, one device (README "Grid-to-EV loop").
SIM_ROLES["dc-charger"]["grid-bpt"] = "harness.devices.sep2.der_dcpc:run_dcpc"
# The whole DC stack on one PLC link: pilot and SLAC, then SDP and DIN SPEC 70121 (service "plc").
SIM_ROLES["secc"]["plc"] = "harness.devices.plc_stack:run_secc_plc"
SIM_ROLES["evcc"]["plc"] = "harness.devices.plc_stack:run_evcc_plc"
# The reference EV asking for TLS in SDP whatever its PICS prefer (service "v2g-tls", ISO 15118-2 TLS).
SIM_ROLES["evcc"]["v2g-tls"] = "harness.devices.evcc:run_evcc_tls"
# ISO 15118-20 over TLS 1.3 (service "v2g20-tls"): the reference SECC's TLS port and the reference EV
# asking for TLS use the -20 PKI and TLS 1.3 with mutual authentication instead of ISO 15118-2's TLS 1.2.
SIM_ROLES["secc"]["v2g20-tls"] = "harness.devices.secc:run_secc_tls20"
SIM_ROLES["evcc"]["v2g20-tls"] = "harness.devices.evcc:run_evcc_tls20"

# Fault switches of the reference devices (lab config `access.faults`, `vgi sim --fault`), for
# demonstrating what a broken DUT looks like in the report.
SIM_FAULTS: dict[str, str] = {
    "sdp-silent": "the reference SECC never answers SDP requests",
    "sdp-slow": "the reference SECC answers SDP requests 400 ms late",
    "sdp-wrong-security": "the reference SECC answers with the security byte the EVCC did not ask for",
    "sdp-bad-port": "the reference SECC announces a TCP port outside 49152-65535",
    "sdp-answer-malformed": "the reference SECC also answers malformed SDP requests",
    "din-slow-current-demand": "the reference SECC answers the 2nd CurrentDemandReq 60 ms late (limit 25 ms)",
    "din-wrong-session-id": "the reference SECC answers ServiceDiscoveryReq with a foreign SessionID",
    "din-isolation-fault": "the reference SECC reports an isolation fault in CableCheckRes",
    "din-emergency-shutdown": "the reference SECC reports EVSE_EmergencyShutdown in the 3rd CurrentDemandRes",
    "din-silent-cable-check": "the reference SECC never answers the first CableCheckReq",
    "din-ev-wrong-session-id": "the reference EVCC sends ServiceDiscoveryReq with a foreign SessionID",
    "din-ev-out-of-sequence": "the reference EVCC sends ChargeParameterDiscoveryReq for ServiceDiscoveryReq",
    "din-ev-malformed": "the reference EVCC sends undecodable EXI instead of ServiceDiscoveryReq",
    "sep2-ev-ignores-dr": "the reference EV/telematics never acknowledges DR events (no DrResponse)",
    "sep2-client-polls-fast": "the reference IEEE 2030.5 clients poll Time without waiting for pollRate",
    "sep2-server-accepts-malformed": "the reference PFE/BMS answers 201 to bodies it cannot parse",
    "der-ev-ignores-energize": "the reference EV DER keeps exporting while opModEnergize is false",
    "der-ev-below-reserve": "the reference EV DER ignores its next drive and discharges below its reserve",
    "der-ev-no-responses": "the reference EV DER never posts a DERControlResponse",
    "der-ev-exports-unauthorized": "the reference EV DER exports at full power before J3072 authorization",
    "der-ev-ignores-maxlimw": "the reference EV DER exports above opModMaxLimW",
    "der-server-overlapping-equal-primacy": "the reference DER server publishes two overlapping controls of "
    "equal primacy and creationTime for the same mode",
    "der-server-refuses-responses": "the reference DER server answers 400 to every DERControlResponse",
    "der-evse-authorizes-unchecked": "the reference EVSE authorizes the EV's inverter before any settings",
    "der-ev-ignores-fixedpf": "the reference EV DER runs at unity power factor whatever opModFixedPF* say",
    "der-ev-ignores-voltvar": "the reference EV DER gives 0 var whatever its opModVoltVar curve says",
    "der-ev-ignores-freqwatt": "the reference EV DER never caps its export by its opModFreqWatt curve",
    "der-ev-meter-unsigned": "the reference EV DER meters export as positive real power (sign dropped)",
    "der-ev-ignores-messages": "the reference EV DER (and its telematics) never acknowledges a TextMessage",
    "der-ev-ignores-drlc": "the reference EV DER acknowledges DRLC events but never caps its import",
    "der-ev-ignores-window": "the reference EV DER discharges outside the discharge window the site granted",
    "der-dcpc-ignores-control": "the reference DC charger answers its DER controls but never asks the EV to "
    "discharge (the demand never reaches its SECC)",
}


def resolve(role: str, service: str | None = None) -> str:
    """The ``module:function`` of a role's service (its default service when None)."""
    services = SIM_ROLES[role]
    if service is None:
        return next(iter(services.values()))
    if service not in services:
        raise KeyError(f"role {role} has no reference service {service!r}; known: {sorted(services)}")
    return services[service]
