"""Keysight (HP, Agilent) instruments."""
