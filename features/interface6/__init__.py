"""Interface 6 features (IEEE 2030.5)."""
