"""Physics of the reference devices: pure, deterministic functions of their inputs and a time step."""
