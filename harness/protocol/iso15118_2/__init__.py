"""ISO 15118-2:2014 DC charging with external identification (EIM), as a profile of the DC session
machines of :mod:`harness.protocol.din70121` (DIN SPEC 70121 was derived from a draft of ISO 15118-2;
the two share the session's shape and differ in names, a few message contents and their timers)."""
