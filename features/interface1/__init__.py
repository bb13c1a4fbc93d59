"""Interface 1 features (IEEE 2030.5)."""
