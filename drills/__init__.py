"""Fault drills of treatment-summary generation (``scripts/drill``, docs/drills.md)."""
