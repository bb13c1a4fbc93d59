"""Interface 8 features (IEEE 2030.5)."""
