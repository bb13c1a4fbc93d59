"""The EV's on-board bidirectional inverter (a DER, SAE J3072) on the traction battery of
:mod:`harness.devices.models.battery`.

What the inverter is rated for (IEEE 2030.5 DERCapability ``rtg*``: :class:`InverterRatings`) and what
it is set to (DERCapability's companion DERSettings, IEEE 1547-2018 settings ``set*``:
:class:`InverterSettings`); a simulated grid point (voltage, frequency) the volt-var and freq-watt
curves read; :meth:`Inverter.apply` takes the mode values in effect (the DER event engine's
``ApplyModes.modes``, or plain values) and :meth:`Inverter.advance` integrates the real power into
the battery's state of charge.

Sign convention (README AC DER "Readings"): :attr:`Inverter.power_w` is what the EV's meter reads,
positive when the EV imports (charges), negative when it exports (discharges).  Commands use the
IEEE 2030.5 convention instead (opModFixedW / opModTargetW positive = discharge, negative = charge);
the conversion happens in one place, :meth:`Inverter.commanded_power_w`.

How each mode acts (REFERENCE-DER.md section 1; "harness rule" where the reference says nothing):

* opModConnect false: disconnected, 0 W and 0 var at once (no ramp).
* opModEnergize false: no export and no import, 0 W and 0 var at once (no ramp).
* opModFixedW: hundredths of a percent; positive discharges at that share of setMaxDischargeRateW,
  negative charges at that share of setMaxChargeRateW.
* opModTargetW: watts, positive discharge (used when opModFixedW is absent).
* Neither: the EV holds at 0 W (harness rule: its own charging is the AC charging flow's business,
  not the DER scenarios'), or discharges at its own dispatch (:meth:`Inverter.set_own_dispatch`, a
  discharge window the site granted it).
* opModMaxLimW: caps export at that percent (hundredths) of setMaxW; charging is not capped by it.
* The EV's own export cap (:meth:`Inverter.set_export_cap`, its next-drive plan) applies on top, and
  an import cap (:meth:`Inverter.set_import_cap`, a DRLC event's duty cycle) on charging.
* Export is always within setMaxDischargeRateW, import within setMaxChargeRateW.
* opModFreqWatt (a DERCurve, x in Hz, y in percent of setMaxW): caps export at y(f); a negative y
  makes the EV absorb at least |y| (harness reading of the curve).
* opModFixedPFInjectW / opModFixedPFAbsorbW: reactive power from the real power and the power factor,
  while exporting / importing; excitation true = under-excited (absorbs var).
* opModVoltVar (a DERCurve, x in percent of setVRef, y in percent of setMaxVar): reactive power from
  the grid voltage when no fixed power factor applies; positive y injects var.
* Ramps: a change of real power ramps linearly, over rampTms hundredths of a second when the control
  gives one, else at setGradW (hundredths of a percent of setMaxW per second; 0: no limit).
* State of charge: export stops when the battery reaches its drive reserve (``min_soc``), import
  when it is full (``max_soc``); losses are not modelled (harness rule: 100 % efficiency).

Faults (:class:`InverterFaults`, the EV's sim faults): ignore opModEnergize false; ignore opModMaxLimW;
discharge below the reserve (down to empty); export at setMaxDischargeRateW until opModEnergize true
has first been in effect (the J3072 grant); ignore the fixed power factor modes (unity power factor);
ignore the volt-var curve (0 var); ignore the freq-watt curve (no cap on export).

Reactive energy: :meth:`Inverter.advance` integrates the reactive power too (:attr:`Inverter.injected_vars`,
var-seconds, + injected), so the EV can meter a period's average reactive power beside its real power.

Pure and deterministic: times are whatever seconds the caller passes (the DER client uses server
time); no clock is read.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.devices.models.battery import Battery, BatteryParameters, interpolate

# --- the simulated EV's inverter (harness choices: a 7.2 kW single-phase 240 V on-board inverter,
# the same class as the lab's 7.2 kW AC EVSE and the J3072 site limit) ------------------------------
EV_RATED_W = 7200
EV_RATED_VA = 7600
EV_RATED_VAR = 3600
EV_NOMINAL_V = 240
EV_MIN_V = 211  # 0.88 pu (IEEE 1547-2018 range A lower bound of continuous operation)
EV_MAX_V = 264  # 1.10 pu
# Power factor ratings in hundredths (cos phi 0.80 either way).
EV_MIN_PF_HUNDREDTHS = 80
# setGradW: hundredths of a percent of setMaxW per second; 1000 = 10 %/s, a full swing in 10 s.
EV_SET_GRAD_W = 1000
# The traction battery (battery.py's defaults: a 60 kWh pack) and the drive reserve the inverter never
# discharges below (harness choice: 20 %).
EV_BATTERY_KWH = 60.0
EV_RESERVE_SOC = 20.0
# State of charge when the simulated EV plugs in (harness choice).
EV_INITIAL_SOC = 60.0
EV_MAX_SOC = 100.0
# Grid point: nominal voltage and frequency (North American 240 V split phase, 60 Hz).
NOMINAL_FREQUENCY_HZ = 60.0
# Integration step of :meth:`Inverter.advance`, seconds.
STEP_S = 1.0
# How many target changes the inverter remembers (Inverter.changes).
CHANGES_KEPT = 1000

PERCENT_HUNDREDTHS = 10_000  # 100.00 % in hundredths of a percent
TMS_PER_S = 100  # rampTms is in hundredths of a second
WH_PER_WS = 1 / 3600

# DERCurve curveType (REFERENCE-DER.md section 1).
CURVE_FREQ_WATT = 0
CURVE_VOLT_VAR = 11

# Modes whose values set the real power, in the order they are looked at.
REAL_POWER_MODES = ("opModFixedW", "opModTargetW")


@dataclass(frozen=True, slots=True)
class InverterRatings:
    """DERCapability ``rtg*``: what the hardware can do (W, VA, var, V, hundredths for PF)."""

    max_w: int = EV_RATED_W
    max_charge_rate_w: int = EV_RATED_W
    max_discharge_rate_w: int = EV_RATED_W
    max_va: int = EV_RATED_VA
    max_var: int = EV_RATED_VAR
    max_var_neg: int = EV_RATED_VAR
    min_pf_over_excited: int = EV_MIN_PF_HUNDREDTHS
    min_pf_under_excited: int = EV_MIN_PF_HUNDREDTHS
    v_nom: int = EV_NOMINAL_V
    min_v: int = EV_MIN_V
    max_v: int = EV_MAX_V


@dataclass(frozen=True, slots=True)
class InverterSettings:
    """DERSettings ``set*`` (IEEE 1547-2018 settings): what the inverter is set to."""

    max_w: int = EV_RATED_W
    max_charge_rate_w: int = EV_RATED_W
    max_discharge_rate_w: int = EV_RATED_W
    max_va: int = EV_RATED_VA
    max_var: int = EV_RATED_VAR
    max_var_neg: int = EV_RATED_VAR
    grad_w: int = EV_SET_GRAD_W
    v_ref: int = EV_NOMINAL_V
    v_nom: int = EV_NOMINAL_V
    min_pf_over_excited: int = EV_MIN_PF_HUNDREDTHS
    min_pf_under_excited: int = EV_MIN_PF_HUNDREDTHS


@dataclass(frozen=True, slots=True)
class Curve:
    """A DERCurve reduced to real numbers: points (x, y) with the multipliers applied."""

    curve_type: int
    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a DERCurve needs at least one point")
        object.__setattr__(self, "points", tuple(sorted(self.points)))

    def at(self, x: float) -> float:
        return interpolate(self.points, x)


def curve_from_data(
    curve_type: int, points: tuple[tuple[int, int], ...], x_multiplier: int = 0, y_multiplier: int = 0
) -> Curve:
    """A :class:`Curve` from DERCurve CurveData (xvalue, yvalue) and its power-of-ten multipliers."""
    return Curve(curve_type, tuple((x * 10.0**x_multiplier, y * 10.0**y_multiplier) for x, y in points))


def _number(value: Any) -> float | None:
    """A numeric mode value (not a bool), else None."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _value(mode: Any) -> Any:
    """A mode's plain value, whether given as the engine's AppliedMode or as the value itself."""
    return getattr(mode, "value", mode)


def _power_factor(value: Any) -> tuple[float, bool] | None:
    """(cos phi, excitation) from a PowerFactorWithExcitation mode value (sorted field pairs)."""
    if not isinstance(value, tuple):
        return None
    fields = dict(value)
    if "displacement" not in fields:
        return None
    pf = fields["displacement"] * 10.0 ** fields.get("multiplier", 0)
    return min(1.0, max(0.0, pf)), bool(fields.get("excitation", False))


@dataclass(frozen=True, slots=True)
class InverterFaults:
    """Ways the simulated inverter can misbehave (the EV's sim faults, harness.devices.catalog)."""

    ignores_energize: bool = False
    ignores_max_lim_w: bool = False
    below_reserve: bool = False
    # Exports at setMaxDischargeRateW until it has first seen opModEnergize true (the J3072 grant).
    exports_unauthorized: bool = False
    # Runs at unity power factor whatever opModFixedPFInjectW / opModFixedPFAbsorbW say.
    ignores_fixed_pf: bool = False
    # Never reads its volt-var / freq-watt curve: 0 var / no cap on export whatever the grid does.
    ignores_volt_var: bool = False
    ignores_freq_watt: bool = False


@dataclass
class Inverter:
    """The inverter's state: the modes in effect, the real power (ramping) and the battery."""

    ratings: InverterRatings = field(default_factory=InverterRatings)
    settings: InverterSettings = field(default_factory=InverterSettings)
    battery: Battery = field(
        default_factory=lambda: Battery(
            BatteryParameters(capacity_kwh=EV_BATTERY_KWH, step_s=STEP_S), soc=EV_INITIAL_SOC
        )
    )
    min_soc: float = EV_RESERVE_SOC
    max_soc: float = EV_MAX_SOC
    faults: InverterFaults = field(default_factory=InverterFaults)
    voltage_v: float = float(EV_NOMINAL_V)
    frequency_hz: float = NOMINAL_FREQUENCY_HZ
    curves: dict[str, Curve] = field(default_factory=dict)
    modes: Mapping[str, Any] = field(default_factory=dict)
    # Real power now (meter convention: + import, - export) and where the ramp is heading.
    power_w: float = 0.0
    target_w: float = 0.0
    ramp_rate_w_per_s: float = math.inf
    last_time: float | None = None
    exported_wh: float = 0.0
    imported_wh: float = 0.0
    # Reactive power integrated over time (var-seconds, + injected): the meter's reactive counter.
    injected_vars: float = 0.0
    # The EV's own cap on export (W), e.g. from its next-drive plan; None: no cap.
    export_cap_w: float | None = None
    # A cap on import (W), e.g. from an active DRLC event; None: no cap.
    import_cap_w: float | None = None
    # The EV's own discharge (W, > 0) when no mode dispatches real power, e.g. a granted window; None: 0 W.
    own_dispatch_w: float | None = None
    # Set once opModEnergize true has been in effect: the EVSE has authorized the inverter (J3072);
    # authorized_at: when that was first seen (the ``now`` of that apply).
    authorized: bool = False
    authorized_at: float | None = None
    # (when, new target W) of each change of the target, the latest CHANGES_KEPT: which readings span
    # a ramp, judged by the inverter's own clock (a loaded machine may apply a change late).
    changes: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=CHANGES_KEPT))

    # --- inputs ---------------------------------------------------------------------------------

    def load_curve(self, href: str, curve: Curve) -> None:
        """Make the DERCurve at ``href`` known (a mode names its curve by href)."""
        self.curves[href] = curve

    def set_grid(
        self, now: float, *, voltage_v: float | None = None, frequency_hz: float | None = None
    ) -> None:
        """Change the simulated grid point at ``now`` (the curves follow at once)."""
        self.advance(now)
        if voltage_v is not None:
            self.voltage_v = voltage_v
        if frequency_hz is not None:
            self.frequency_hz = frequency_hz
        self._retarget(self._ramp_tms())

    def set_export_cap(self, now: float, cap_w: float | None) -> None:
        """The EV's own limit on export from ``now`` (its next-drive plan); None lifts it."""
        self.advance(now)
        self.export_cap_w = cap_w
        self._retarget(self._ramp_tms())

    def set_own_dispatch(self, now: float, discharge_w: float | None) -> None:
        """The EV's own discharge from ``now`` when no mode dispatches real power; None: hold at 0 W."""
        self.advance(now)
        self.own_dispatch_w = discharge_w
        self._retarget(self._ramp_tms())

    def set_import_cap(self, now: float, cap_w: float | None) -> None:
        """A limit on import from ``now`` (a DRLC event's load limit); None lifts it."""
        self.advance(now)
        self.import_cap_w = cap_w
        self._retarget(self._ramp_tms())

    def apply(self, modes: Mapping[str, Any], now: float) -> None:
        """Run with ``modes`` (mode name -> AppliedMode or plain value) from ``now`` on."""
        self.advance(now)
        self.modes = dict(modes)
        if self._mode("opModEnergize") is True and not self.authorized:
            self.authorized, self.authorized_at = True, now
        self._retarget(self._ramp_tms())

    # --- what the modes ask -----------------------------------------------------------------------

    def _mode(self, name: str) -> Any:
        return _value(self.modes[name]) if name in self.modes else None

    def _ramp_tms(self) -> int | None:
        for name in (*REAL_POWER_MODES, "opModMaxLimW"):
            if name in self.modes:
                return getattr(self.modes[name], "ramp_tms", None)
        return None

    @property
    def connected(self) -> bool:
        return self._mode("opModConnect") is not False

    @property
    def energized(self) -> bool:
        """May the inverter exchange power with the grid (opModEnergize not false)?"""
        return self._mode("opModEnergize") is not False or self.faults.ignores_energize

    @property
    def _rogue(self) -> bool:
        """The exports-unauthorized fault is acting: no J3072 grant seen yet."""
        return self.faults.exports_unauthorized and not self.authorized

    @property
    def live(self) -> bool:
        """Connected and energized: the inverter exchanges power with the grid."""
        return self._rogue or (self.connected and self.energized)

    def commanded_power_w(self) -> float:
        """The real power the modes ask for, in the meter convention (+ import, - export), before
        the state-of-charge limits."""
        s = self.settings
        if self._rogue:
            return -float(s.max_discharge_rate_w)
        if not self.live:
            return 0.0
        discharge = self._dispatch_w(self.modes)
        if self.export_cap_w is not None:
            discharge = min(discharge, self.export_cap_w)
        if self.import_cap_w is not None:
            discharge = max(discharge, -self.import_cap_w)
        curve = self._curve("opModFreqWatt", CURVE_FREQ_WATT)
        if curve is not None and not self.faults.ignores_freq_watt:
            discharge = min(discharge, curve.at(self.frequency_hz) * s.max_w / 100.0)
        discharge = max(-float(s.max_charge_rate_w), min(float(s.max_discharge_rate_w), discharge))
        return 0.0 - discharge  # (0.0 - 0.0 is +0.0: no "-0 W")

    def _dispatch_w(self, modes: Mapping[str, Any]) -> float:
        """The real power ``modes`` dispatch, IEEE 2030.5 convention (+ discharge, - charge): opModFixedW
        or opModTargetW, capped by opModMaxLimW."""
        s = self.settings
        discharge = 0.0
        fixed = _number(_value(modes["opModFixedW"])) if "opModFixedW" in modes else None
        target = _number(_value(modes["opModTargetW"])) if "opModTargetW" in modes else None
        if fixed is not None:
            rating = s.max_discharge_rate_w if fixed >= 0 else s.max_charge_rate_w
            discharge = fixed * rating / PERCENT_HUNDREDTHS
        elif target is not None:
            discharge = target
        elif self.own_dispatch_w is not None:
            discharge = self.own_dispatch_w
        limit = _number(_value(modes["opModMaxLimW"])) if "opModMaxLimW" in modes else None
        if limit is not None and not self.faults.ignores_max_lim_w:
            discharge = min(discharge, limit * s.max_w / PERCENT_HUNDREDTHS)
        return discharge

    def requested_export_w(self, modes: Mapping[str, Any]) -> float:
        """The export (W, >= 0) a control with ``modes`` asks of this inverter, within its rating
        (what the EV plans its next drive against)."""
        return max(0.0, min(float(self.settings.max_discharge_rate_w), self._dispatch_w(modes)))

    def _curve(self, mode: str, curve_type: int) -> Curve | None:
        href = self._mode(mode)
        curve = self.curves.get(href) if isinstance(href, str) else None
        return curve if curve is not None and curve.curve_type == curve_type else None

    @property
    def reactive_power_var(self) -> float:
        """Reactive power now, + injected (over-excited), - absorbed; 0 when not energized."""
        if not self.live:
            return 0.0
        s = self.settings
        exporting = self.power_w < 0
        pf = _power_factor(self._mode("opModFixedPFInjectW" if exporting else "opModFixedPFAbsorbW"))
        if self.faults.ignores_fixed_pf:
            pf = None
        if pf is not None and self.power_w != 0:
            cos_phi, under_excited = pf
            magnitude = abs(self.power_w) * math.tan(math.acos(cos_phi)) if cos_phi > 0 else s.max_var
            var = -magnitude if under_excited else magnitude
        else:
            curve = self._curve("opModVoltVar", CURVE_VOLT_VAR)
            if curve is None or self.faults.ignores_volt_var:
                return 0.0
            var = curve.at(100.0 * self.voltage_v / s.v_ref) * s.max_var / 100.0
        return max(-float(s.max_var_neg), min(float(s.max_var), var))

    # --- the state of charge ----------------------------------------------------------------------

    @property
    def soc(self) -> float:
        return self.battery.soc

    @property
    def floor_soc(self) -> float:
        """The lowest state of charge the inverter discharges to (0 with the below-reserve fault)."""
        return 0.0 if self.faults.below_reserve else self.min_soc

    def _allowed(self, power_w: float) -> float:
        """``power_w`` within the state-of-charge limits (no export at the floor, no import when full)."""
        if power_w < 0 and self.battery.soc <= self.floor_soc + 1e-9:
            return 0.0
        if power_w > 0 and self.battery.soc >= self.max_soc - 1e-9:
            return 0.0
        return power_w

    def _retarget(self, ramp_tms: int | None) -> None:
        target = self.commanded_power_w()
        if target != self.target_w and self.last_time is not None:
            self.changes.append((self.last_time, target))
        self.target_w = target
        if not self.live:
            # Cease to energize / disconnect: at once, no ramp.
            self.power_w, self.ramp_rate_w_per_s = 0.0, math.inf
            return
        swing = abs(self.target_w - self.power_w)
        if ramp_tms is not None:
            seconds = ramp_tms / TMS_PER_S
            self.ramp_rate_w_per_s = swing / seconds if seconds > 0 else math.inf
        elif self.settings.grad_w > 0:
            self.ramp_rate_w_per_s = self.settings.grad_w * self.settings.max_w / PERCENT_HUNDREDTHS
        else:
            self.ramp_rate_w_per_s = math.inf
        if self.ramp_rate_w_per_s == math.inf:
            self.power_w = self._allowed(self.target_w)

    def advance(self, now: float) -> None:
        """Integrate the real power since the last call into the battery (fixed steps of STEP_S)."""
        if self.last_time is None or now <= self.last_time:
            self.last_time = now if self.last_time is None else max(self.last_time, now)
            self.power_w = self._allowed(self.power_w)
            return
        t = self.last_time
        while t < now - 1e-12:
            h = min(STEP_S, now - t)
            start = self._allowed(self.power_w)
            gap = self.target_w - start
            step = min(abs(gap), self.ramp_rate_w_per_s * h) if gap else 0.0
            end = self._allowed(start + math.copysign(step, gap))
            self._move_energy((start + end) / 2 * h * WH_PER_WS)
            self.power_w = self._allowed(end)
            self.injected_vars += self.reactive_power_var * h
            t += h
        self.last_time = now

    def _move_energy(self, wh: float) -> None:
        """Energy into (+) or out of (-) the pack, clamped to the floor and the top.  Battery.advance
        only takes charging current, so the inverter moves the SoC by energy over the pack's capacity
        itself (the same quantity battery.py integrates, at 100 % efficiency)."""
        capacity_wh = self.battery.params.capacity_kwh * 1000.0
        soc = self.battery.soc + 100.0 * wh / capacity_wh
        soc = min(self.max_soc, max(self.floor_soc, soc)) if wh else soc
        moved = (soc - self.battery.soc) / 100.0 * capacity_wh
        if moved > 0:
            self.imported_wh += moved
        else:
            self.exported_wh -= moved
        self.battery.soc = soc
        self.battery.current_a = self.power_w / max(self.battery.params.nominal_voltage_v, 1.0)

    # --- what the EV reports ---------------------------------------------------------------------

    @property
    def stored_wh(self) -> float:
        return self.battery.soc / 100.0 * self.battery.params.capacity_kwh * 1000.0

    @property
    def exportable_wh(self) -> float:
        """Energy above the drive reserve (what the battery could give without breaking it)."""
        return max(
            0.0, (self.battery.soc - self.floor_soc) / 100.0 * self.battery.params.capacity_kwh * 1000.0
        )
