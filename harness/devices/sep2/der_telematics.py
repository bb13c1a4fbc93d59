"""The EV's OEM telematics as an IEEE 2030.5 DER client over the internet path (interface 6).

SAE J2836/3 draws the EV's DER conversation with the PFE/BMS on interface 1 (through the EVSE) and the
same conversation through the OEM's telematics on interface 6: the telematics service reads the DER
programs for the EV, tells the user of events and of opt-outs (it acknowledges the site's TextMessages)
and carries the user's answers (DERControlResponses, e.g. opted out).  The reference telematics runs
the reference EV's DER logic (:mod:`harness.devices.sep2.der_client`: engine, inverter model, next
drive, messages) under the telematics identity (its own certificate and LFDI), so the server sees a
DER client that is not the EVSE-bridged EV (README AC DER "Telematics").
"""

from __future__ import annotations

from harness.devices.sep2.der_client import ev_der, serve_ev_der
from harness.devices.settings import DeviceSettings
from harness.transport.link import Link

ROLE = "telematics"


async def run_telematics_der(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    """The reference telematics DER client (SIM_ROLES["telematics"]["der"]): find the server, register
    the EV's DER, then act for it until cancelled."""
    await serve_ev_der(ev_der(settings, faults, role=ROLE), link, settings)
