"""Keysight (HP, Agilent) 34401A DC voltage, against a multifunction calibrator.

Every DCV range from 100 mV to 1000 V: zero, positive and negative full
scale, and a linearity check on the 10 V range, at 10 power-line cycles
(6.5 digits) on a fixed range, judged by the 34401A's 1-year specification.
"""

from __future__ import annotations

from station.procedure import Function
from station.templates import MeterAgainstSource

V = Function.DCV
VOLTS = "Connect the calibrator's NORMAL HI and LO outputs to the 34401A's front INPUT HI and LO " \
        "(V-ohm) terminals with low-thermal leads. Set the 34401A's front/rear switch to Front."


class Keysight34401aDcv(MeterAgainstSource):
    name = "keysight-34401a-dcv"
    version = "2.0.0"
    title = "Keysight 34401A digital multimeter, DC voltage"
    method = (
        "Direct comparison with a multifunction calibrator: the calibrator applies each nominal "
        "DC voltage to the DMM's front input; the DMM, on a fixed range at 10 NPLC, takes n "
        "readings, whose mean is the indication (calstation procedure keysight-34401a-dcv)."
    )
    dut_interval = "1y"
    connections = {V: VOLTS}
    table = [
        (V, 0.1, 0.0), (V, 0.1, 0.1), (V, 0.1, -0.1),
        (V, 1.0, 0.0), (V, 1.0, 1.0), (V, 1.0, -1.0),
        (V, 10.0, 0.0), (V, 10.0, 1.0), (V, 10.0, 5.0), (V, 10.0, 10.0), (V, 10.0, -10.0),
        (V, 100.0, 0.0), (V, 100.0, 100.0), (V, 100.0, -100.0),
        (V, 1000.0, 0.0), (V, 1000.0, 1000.0), (V, 1000.0, -1000.0),
    ]
