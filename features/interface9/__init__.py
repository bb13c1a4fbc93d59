"""Interface 9 features (IEEE 2030.5)."""
