"""Simulated instruments, the simulated bench and its servers.

`SimBench` (drivers.sim.bench) is the entry point; `start_servers`
(drivers.sim.serve) serves it over TCP and pseudo-terminals. Faults are
injected through every simulator's `power_cycle`, `line_fault` and
`link_down` (drivers.sim.base), with ready-made line faults in
drivers.sim.faults.
"""
