"""Simulated instruments, the simulated bench and its servers.

`SimBench` (drivers.sim.bench) is the entry point; `start_servers`
(drivers.sim.serve) serves it over TCP and pseudo-terminals.
"""
