"""Interface 3 features (IEEE 2030.5)."""
