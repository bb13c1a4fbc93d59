"""ISO 15118-20 DC and DC_BPT (EIM; scheduled and dynamic control) as sans-I/O cores on the protocol kernel.

:mod:`.messages` (builders, readers, response codes, :func:`~.messages.schema_of`), :mod:`.timing`
(every -20 timer, registered for PIXIT as ``ISO20:<name>``), :mod:`.services` (DC / DC_BPT parameter
sets), :mod:`.bpt` (discharge limits and control-mode elements), :mod:`.secc` and :mod:`.evcc` (the
cores).  The cores reuse the DIN SPEC 70121 events (StopSession, StopResult, Note, MalformedReceived,
StopRequested) and device-model protocols (DcChargerModel, EvBatteryModel).
"""
