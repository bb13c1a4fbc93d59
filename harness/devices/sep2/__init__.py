"""IEEE 2030.5 reference devices: PFE server, BMS, EV, EVSE, DC charger, telematics, meter."""
