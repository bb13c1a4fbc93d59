"""The DC session protocols by their PICS names, with a lab's timers: what the DC session machines of
:mod:`harness.protocol.din70121` speak (DIN SPEC 70121, or ISO 15118-2 through its profile)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from harness.protocol.din70121.profile import DcProfile, DinProfile
from harness.protocol.din70121.timing import DinTimings
from harness.protocol.iso15118_2.profile import Iso2Profile
from harness.protocol.iso15118_2.timing import Iso2Timings

DIN70121 = "din70121"
ISO15118_2 = "iso15118-2"
# An EV's order of preference in supportedAppProtocol (ISO 15118-2 8.2: Priority 1 first): the newer
# protocol first, as EVs that speak both offer them.
EV_PREFERENCE = (ISO15118_2, DIN70121)


def dc_profile(name: str, timer: Callable[[str], float]) -> DcProfile:
    """The profile of PICS protocol ``name`` with the timers ``timer`` looks up (a lab's PIXIT)."""
    if name == DIN70121:
        return DinProfile(DinTimings.from_lab(timer))
    if name == ISO15118_2:
        return Iso2Profile(Iso2Timings.from_lab(timer))
    raise ValueError(f"no DC session profile for protocol {name!r}; known: {DIN70121}, {ISO15118_2}")


def dc_profiles(supported: Iterable[str], timer: Callable[[str], float]) -> tuple[DcProfile, ...]:
    """The DC protocols among ``supported`` (PICS names), in the EV's order of preference; DIN SPEC 70121
    alone when none is named (the reference devices' protocol before ISO 15118-2 existed)."""
    names = [name for name in EV_PREFERENCE if name in set(supported)] or [DIN70121]
    return tuple(dc_profile(name, timer) for name in names)
