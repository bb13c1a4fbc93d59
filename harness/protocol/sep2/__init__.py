"""IEEE 2030.5 flows for SAE J2836/1 AC charging: the EV's 24-hour table and planner (sans-I/O)."""
