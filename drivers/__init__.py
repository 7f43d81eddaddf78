"""Instrument drivers, transports, roles and the simulated bench.

`drivers` never imports `station`: the core depends on roles
(`drivers.roles`), never on a concrete model.
"""
