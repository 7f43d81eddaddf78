"""Fluke 5522A multifunction calibrator as the DUT: its DC voltage output at
its verification points, measured by a reference multimeter (a Keysight
3458A at 100 NPLC, on its smallest range that holds each point), judged by
the 5522A's 90-day specification."""

from __future__ import annotations

from station.procedure import Function
from station.templates import SourceAgainstMeter

V = Function.DCV


class Fluke5522aDcv(SourceAgainstMeter):
    name = "fluke-5522a-dcv"
    version = "1.0.0"
    title = "Fluke 5522A multifunction calibrator, DC voltage output"
    method = (
        "Direct measurement with a reference multimeter: the calibrator outputs each nominal DC voltage "
        "to the reference multimeter's input; the multimeter, on its smallest range holding the value "
        "at 100 NPLC, takes n readings, whose mean is the reference value (calstation procedure "
        "fluke-5522a-dcv)."
    )
    dut_interval = "90d"
    simulated_bench = "calibrator-3458a"
    connections = {V: "Connect the 5522A's NORMAL HI and LO outputs to the reference multimeter's HI and "
                      "LO input terminals with low-thermal leads; guard to LO."}
    table = [
        (V, 0.0, 0.0), (V, 0.0, 0.1), (V, 0.0, 0.33), (V, 0.0, -0.33), (V, 0.0, 1.0), (V, 0.0, 3.0),
        (V, 0.0, -3.0), (V, 0.0, 10.0), (V, 0.0, 30.0), (V, 0.0, -30.0), (V, 0.0, 100.0),
        (V, 0.0, 300.0), (V, 0.0, 1000.0), (V, 0.0, -1000.0),
    ]
