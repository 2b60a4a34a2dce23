"""Benchmarks: journeyline's batch job against a plain DuckDB reference (``make bench``)."""
