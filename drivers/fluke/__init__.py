"""Fluke instruments."""
