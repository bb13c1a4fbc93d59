"""What the reference EV's DER meter posts: its MirrorUsagePoint's readings of real and reactive power.

README AC DER "Readings": every READING_PERIOD_S server seconds the EV posts, to its MirrorUsagePoint,
the period's average real power (ReadingType uom 38 W) and average reactive power (uom 63 var), both
in the meter convention of FlowDirectionType 1 "forward" (delivered to the EV): a positive value is
taken from the grid, a negative one given to it.  Export reads as negative real power; reactive power
the inverter injects (over-excited) reads as negative var, reactive power it absorbs (under-excited)
as positive var.  Beside them, the grid point the EV measured at its terminals during the period
(it samples the lab's grid once per period, :mod:`harness.devices.sep2.der_grid`): voltage (uom 29, in
tenths of a volt) and frequency (uom 33, in hundredths of a hertz), kind 0 (not applicable: neither is
power nor energy).

:class:`MeterCounters` is what the inverter model has integrated at one instant; :func:`period_readings`
turns two of them into the two MirrorMeterReadings.  Sim fault ``der-ev-meter-unsigned``: the meter
drops the sign of the real power (export reads as positive), the mistake interface 9 catches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from py20305.models.sep import sep

from harness.codec.sep2 import resources as r
from harness.codec.sep2 import values as v
from harness.devices.models.inverter import Inverter

# sep.xsd UomType 38 "W (Real power in Watts)", 63 "var (Reactive power)"; KindType 37 "Power";
# FlowDirectionType 1 "Forward (delivered to customer)": export reads negative.
UOM_W = 38
UOM_VAR = 63
KIND_POWER = 37
# sep.xsd UomType 29 "Voltage", 33 "Hz (Frequency)"; KindType 0 "Not Applicable"; their
# powerOfTenMultiplier: decivolts (-1) and centihertz (-2).
UOM_VOLTAGE = 29
UOM_FREQUENCY = 33
KIND_NOT_APPLICABLE = 0
VOLTAGE_MULTIPLIER = -1
FREQUENCY_MULTIPLIER = -2
FLOW_FORWARD = 1
# mRID serials of the EV's MirrorMeterReadings (harness.codec.sep2.values.mrid).
POWER_READING_SERIAL = 0x30_0002
REACTIVE_READING_SERIAL = 0x30_0003
VOLTAGE_READING_SERIAL = 0x30_0004
FREQUENCY_READING_SERIAL = 0x30_0005
SECONDS_PER_HOUR = 3600
# The sim fault that drops the sign of the real-power readings (harness.devices.catalog.SIM_FAULTS).
FAULT_UNSIGNED = "der-ev-meter-unsigned"


def reading_type(uom: int, kind: int = KIND_POWER, multiplier: int = 0) -> Any:
    """The ReadingType of one of the EV's readings (``uom`` 38 W or 63 var; 29 V or 33 Hz with their
    kind and multiplier)."""
    return sep.ReadingType1(
        uom=sep.UomType(value=uom),
        kind=sep.KindType(value=kind),
        flow_direction=sep.FlowDirectionType(value=FLOW_FORWARD),
        power_of_ten_multiplier=sep.PowerOfTenMultiplierType(value=multiplier),
    )


def _voltage_type() -> Any:
    return reading_type(UOM_VOLTAGE, KIND_NOT_APPLICABLE, VOLTAGE_MULTIPLIER)


def _frequency_type() -> Any:
    return reading_type(UOM_FREQUENCY, KIND_NOT_APPLICABLE, FREQUENCY_MULTIPLIER)


def mirror_readings() -> list[Any]:
    """The MirrorMeterReadings the EV's MirrorUsagePoint declares (no values yet)."""
    return [
        sep.MirrorMeterReading1(
            m_rid=v.mrid(POWER_READING_SERIAL), description="real power", reading_type=reading_type(UOM_W)
        ),
        sep.MirrorMeterReading1(
            m_rid=v.mrid(REACTIVE_READING_SERIAL),
            description="reactive power",
            reading_type=reading_type(UOM_VAR),
        ),
        sep.MirrorMeterReading1(
            m_rid=v.mrid(VOLTAGE_READING_SERIAL), description="grid voltage", reading_type=_voltage_type()
        ),
        sep.MirrorMeterReading1(
            m_rid=v.mrid(FREQUENCY_READING_SERIAL),
            description="grid frequency",
            reading_type=_frequency_type(),
        ),
    ]


@dataclass(frozen=True, slots=True)
class MeterCounters:
    """The inverter's counters at server time ``at``: Wh imported and exported, var-seconds injected;
    and the grid point it measured then (held until the next sample)."""

    at: float
    imported_wh: float
    exported_wh: float
    injected_vars: float
    voltage_v: float = 0.0
    frequency_hz: float = 0.0

    @classmethod
    def of(cls, inverter: Inverter, at: float) -> MeterCounters:
        return cls(
            at,
            inverter.imported_wh,
            inverter.exported_wh,
            inverter.injected_vars,
            inverter.voltage_v,
            inverter.frequency_hz,
        )


def period_readings(
    then: MeterCounters, now: MeterCounters, serial: int, faults: frozenset[str] = frozenset()
) -> list[Any]:
    """The MirrorMeterReadings (real, then reactive power) of the period from ``then`` to ``now``:
    each the period's average, meter convention (+ delivered to the EV); then the grid voltage and
    frequency measured over the period (``then``'s sample, held through it)."""
    span = max(now.at - then.at, 1e-9)
    net_wh = (now.imported_wh - then.imported_wh) - (now.exported_wh - then.exported_wh)
    average_w = round(net_wh * SECONDS_PER_HOUR / span)
    if FAULT_UNSIGNED in faults:
        average_w = abs(average_w)
    average_var = round(-(now.injected_vars - then.injected_vars) / span)
    # TimePeriod is whole seconds: the label covers the whole span measured (start rounded down, end up),
    # so a reading labelled as ending before an instant measured nothing after it.
    start = math.floor(then.at)
    period = v.interval(start, math.ceil(now.at) - start)
    return [
        r.MirrorMeterReading(
            m_rid=v.mrid(POWER_READING_SERIAL),
            description=f"real power #{serial}",
            reading_type=reading_type(UOM_W),
            reading=sep.Reading1(value=average_w, time_period=period),
        ),
        r.MirrorMeterReading(
            m_rid=v.mrid(REACTIVE_READING_SERIAL),
            description=f"reactive power #{serial}",
            reading_type=reading_type(UOM_VAR),
            reading=sep.Reading1(value=average_var, time_period=period),
        ),
        r.MirrorMeterReading(
            m_rid=v.mrid(VOLTAGE_READING_SERIAL),
            description=f"grid voltage #{serial}",
            reading_type=_voltage_type(),
            reading=sep.Reading1(value=round(then.voltage_v * 10**-VOLTAGE_MULTIPLIER), time_period=period),
        ),
        r.MirrorMeterReading(
            m_rid=v.mrid(FREQUENCY_READING_SERIAL),
            description=f"grid frequency #{serial}",
            reading_type=_frequency_type(),
            reading=sep.Reading1(
                value=round(then.frequency_hz * 10**-FREQUENCY_MULTIPLIER), time_period=period
            ),
        ),
    ]
