"""The device under py20305's DER client: an EV's on-board inverter, as a py20305 connector.

py20305's client speaks IEEE 2030.5 to the server and hands each control mode it has decided to apply
to a *connector* (``py20305.connectors.base.BaseConnector``), the device integrator's part: the
``update_*`` calls carry the modes, ``fetch_*`` read the device back for DERCapability, DERSettings,
DERStatus, DERAvailability and the MirrorMeterReadings.  The client ships ``print_demo`` (fixed
telemetry: 10 kW whatever it is told) and SunSpec Modbus; neither models an EV, so this connector puts
the harness's inverter model (:mod:`harness.devices.models.inverter`, pure, standard library only) on
the other side: an EV's 7.2 kW bidirectional inverter on its traction battery that follows the modes
it is given, ramps, and reports what it does.

Ours: this file (which connector calls mean which mode values, the ratings and settings the EV
declares, DERType 81) and the inverter model.  The client's: everything on the wire, which controls
are in effect when (event schedule, primacy, randomization, defaults), which Responses it posts, how it
scales and signs readings.  Only ever imported in the client's venv (the launcher names it by
``class_path``); the harness's own code never imports it.

Sign conventions: py20305 connectors report ``W``/``Var`` positive for the DER's output (export,
injection); the inverter model's :attr:`Inverter.power_w` is the meter's (+ import), so ``W`` is its
negation.  ``update_fixed_w`` carries opModFixedW in percent (``WSet``) and ``update_p_lim``
opModMaxLimW in percent (``p_lim_w``); the model takes both in hundredths of a percent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from py20305.connectors.base import BaseConnector

from harness.devices.models.inverter import Inverter, InverterRatings, InverterSettings

# IEEE 2030.5 DERType 81: electric vehicle (sep.xsd DERType).
DER_TYPE_ELECTRIC_VEHICLE = 81
# sep.xsd DERControlType bit positions of the modes this connector honours.
SUPPORTED_MODE_BITS = {
    "opModConnect": 2,
    "opModEnergize": 3,
    "opModFixedPFAbsorbW": 4,
    "opModFixedPFInjectW": 5,
    "opModFixedW": 7,
    "opModMaxLimW": 20,
}
CTRL_MODES = sum(1 << bit for bit in SUPPORTED_MODE_BITS.values())
PERCENT_TO_HUNDREDTHS = 100
# Power factors in the connector calls are plain numbers (0.90); the model takes displacement with a
# power-of-ten multiplier.
PF_MULTIPLIER = -2
# DERAvailability: how long the EV says it can keep up its availability (harness choice: a day).
AVAILABILITY_DURATION_S = 86_400
# DERStatus code values (sep.xsd): connectStatus bit 0 = connected, bit 1 = available, bit 2 = operating;
# inverterStatus 4 = MPPT/producing, 1 = off; operationalModeStatus 2 = operational mode.
CONNECT_STATUS_CONNECTED = 0b111
CONNECT_STATUS_DISCONNECTED = 0b010
INVERTER_STATUS_OPERATING = 4
INVERTER_STATUS_OFF = 1
OPERATIONAL_MODE = 2


@dataclass(frozen=True, slots=True)
class RampedValue:
    """A mode value with the control's rampTms, as the inverter model reads it (``.value``, ``.ramp_tms``)."""

    value: Any
    ramp_tms: int | None = None


def _ramped(value: Any, params: dict[str, Any]) -> RampedValue:
    ramp = params.get("ramp_tms")
    return RampedValue(value, int(ramp) if ramp is not None else None)


def _pf_value(side: dict[str, Any]) -> tuple[tuple[str, Any], ...] | None:
    if not side.get("mode") or side.get("pf") is None:
        return None
    displacement = round(float(side["pf"]) * 10**-PF_MULTIPLIER)
    return (
        ("displacement", displacement),
        ("excitation", bool(side.get("excitation"))),
        ("multiplier", PF_MULTIPLIER),
    )


class EvInverterConnector(BaseConnector):
    """A py20305 connector driving the harness's EV inverter model (see the module docstring)."""

    connector_name = "VgiEvInverterConnector"
    der_type = DER_TYPE_ELECTRIC_VEHICLE

    def __init__(self, **_kwargs: Any) -> None:
        self.inverter = Inverter(ratings=InverterRatings(), settings=InverterSettings())
        self.modes: dict[str, Any] = {}
        self.inverter.apply({}, time.time())

    def _set(self, name: str, value: Any) -> None:
        if value is None:
            self.modes.pop(name, None)
        else:
            self.modes[name] = value
        self.inverter.apply(dict(self.modes), time.time())

    # --- controls (what the client decided is in effect) ---------------------------------------

    async def update_fixed_w(self, params: dict[str, Any]) -> None:
        enabled = params.get("WSetEna") and params.get("WSet") is not None
        value = round(float(params["WSet"]) * PERCENT_TO_HUNDREDTHS) if enabled else None
        self._set("opModFixedW", _ramped(value, params) if value is not None else None)

    async def update_p_lim(self, params: dict[str, Any]) -> None:
        enabled = params.get("p_lim_mode_enable") and params.get("p_lim_w") is not None
        value = round(float(params["p_lim_w"]) * PERCENT_TO_HUNDREDTHS) if enabled else None
        self._set("opModMaxLimW", _ramped(value, params) if value is not None else None)

    async def update_connect(self, params: dict[str, Any]) -> None:
        # py20305 ANDs opModConnect and opModEnergize into one "connected" (IEEE 2030.5 10.10.4.2.2).
        self._set("opModConnect", None if params.get("connected", True) else False)

    async def update_const_pf(self, params: dict[str, Any]) -> None:
        self.modes.pop("opModFixedPFInjectW", None)
        self.modes.pop("opModFixedPFAbsorbW", None)
        inject = _pf_value(params.get("inj") or {})
        absorb = _pf_value(params.get("abs") or {})
        if inject is not None:
            self.modes["opModFixedPFInjectW"] = inject
        if absorb is not None:
            self.modes["opModFixedPFAbsorbW"] = absorb
        self.inverter.apply(dict(self.modes), time.time())

    # --- what the device reports ----------------------------------------------------------------

    async def fetch_monitoring(self) -> dict[str, Any]:
        inverter = self.inverter
        inverter.advance(time.time())
        return {
            "W": 0.0 - inverter.power_w,
            "Var": inverter.reactive_power_var,
            "V": inverter.voltage_v,
            "Hz": inverter.frequency_hz,
        }

    async def fetch_nameplate(self) -> dict[str, Any]:
        r = self.inverter.ratings
        return {
            "WMaxRtg": r.max_w,
            "WChaRteMaxRtg": r.max_charge_rate_w,
            "WDisChaRteMaxRtg": r.max_discharge_rate_w,
            "VAMaxRtg": r.max_va,
            "VarMaxInjRtg": r.max_var,
            "VarMaxAbsRtg": r.max_var_neg,
            "WOvrExtRtgPF": r.min_pf_over_excited / 100,
            "WUndExtRtgPF": r.min_pf_under_excited / 100,
            "VNomRtg": r.v_nom,
            "VMinRtg": r.min_v,
            "VMaxRtg": r.max_v,
            "WhMaxRtg": round(self.inverter.battery.params.capacity_kwh * 1000),
            "CtrlModes": CTRL_MODES,
        }

    async def fetch_configuration(self) -> dict[str, Any]:
        s = self.inverter.settings
        return {
            "WMax": s.max_w,
            "WChaRteMax": s.max_charge_rate_w,
            "WDisChaRteMax": s.max_discharge_rate_w,
            "VAMax": s.max_va,
            "VarMaxInj": s.max_var,
            "VarMaxAbs": s.max_var_neg,
            "WOvrExtPF": s.min_pf_over_excited / 100,
            "WUndExtPF": s.min_pf_under_excited / 100,
            "VNom": s.v_nom,
            "GradW": s.grad_w,
            "CtrlModes": CTRL_MODES,
        }

    async def fetch_availability(self) -> dict[str, Any]:
        inverter = self.inverter
        inverter.advance(time.time())
        return {
            "availabilityDuration": AVAILABILITY_DURATION_S,
            "readingTime": int(time.time()),
            "statWAvail": {"value": inverter.settings.max_discharge_rate_w, "multiplier": 0},
            "statVarAvail": {"value": inverter.settings.max_var, "multiplier": 0},
        }

    async def fetch_status(self) -> dict[str, Any]:
        inverter = self.inverter
        inverter.advance(time.time())
        now = int(time.time())
        live = inverter.live
        return {
            "connectStatus": {
                "dateTime": now,
                "value": CONNECT_STATUS_CONNECTED if live else CONNECT_STATUS_DISCONNECTED,
            },
            "inverterStatus": {
                "dateTime": now,
                "value": INVERTER_STATUS_OPERATING if inverter.power_w else INVERTER_STATUS_OFF,
            },
            "operationalModeStatus": {"dateTime": now, "value": OPERATIONAL_MODE},
            "stateOfChargeStatus": {"dateTime": now, "value": round(inverter.soc * 100)},
        }
