"""Drivers for instruments of no one maker (generic serial indicators)."""
