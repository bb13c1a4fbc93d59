"""Interface 7 features (IEEE 2030.5)."""
