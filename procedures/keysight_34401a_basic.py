"""Keysight (HP, Agilent) 34401A, every basic function in one run, against a
multifunction calibrator: DC voltage, DC current, AC voltage at 1 kHz,
2-wire and 4-wire resistance. Each point is judged by its own function's
1-year specification on its range (and, for AC, at its frequency)."""

from __future__ import annotations

from station.procedure import Function
from station.templates import MeterAgainstSource

DCV, DCI, ACV, R2W, R4W = Function.DCV, Function.DCI, Function.ACV, Function.R2W, Function.R4W
VOLTS = ("Connect the calibrator's NORMAL HI and LO outputs to the 34401A's front INPUT HI and LO "
         "(V-ohm) terminals with low-thermal leads. Set the 34401A's front/rear switch to Front.")
AMPS = ("Move the HI lead: connect the calibrator's AUX HI and LO outputs to the 34401A's front I "
        "and LO terminals.")
TWO_WIRE = ("Connect the calibrator's NORMAL HI and LO outputs to the 34401A's INPUT HI and LO "
            "terminals (2-wire; the leads' resistance is part of the reading).")
FOUR_WIRE = ("Connect the calibrator's NORMAL HI and LO to the 34401A's INPUT HI and LO, and the "
             "calibrator's SENSE HI and LO to the 34401A's SENSE HI and LO (4-wire).")


class Keysight34401aBasic(MeterAgainstSource):
    name = "keysight-34401a-basic"
    version = "1.0.0"
    title = "Keysight 34401A digital multimeter, DC and AC voltage, DC current, resistance"
    method = (
        "Direct comparison with a multifunction calibrator: the calibrator applies each nominal value "
        "(DC voltage, DC current, AC voltage at 1 kHz, resistance) to the DMM; the DMM, on a fixed "
        "range, takes n readings, whose mean is the indication (calstation procedure "
        "keysight-34401a-basic)."
    )
    dut_interval = "1y"
    connections = {DCV: VOLTS, ACV: VOLTS, DCI: AMPS, R2W: TWO_WIRE, R4W: FOUR_WIRE}
    connection_images = {DCV: "images/leads-volts.png", ACV: "images/leads-volts.png",
                         DCI: "images/leads-amps.png", R2W: "images/leads-volts.png",
                         R4W: "images/leads-4wire.png"}
    table = [
        (DCV, 0.1, 0.1), (DCV, 1.0, 1.0), (DCV, 10.0, 10.0), (DCV, 10.0, -10.0), (DCV, 100.0, 100.0),
        (ACV, 0.1, 0.1, 1000.0), (ACV, 1.0, 1.0, 1000.0), (ACV, 10.0, 10.0, 1000.0),
        (ACV, 100.0, 100.0, 1000.0),
        (DCI, 0.01, 0.01), (DCI, 0.1, 0.1), (DCI, 1.0, 1.0),
        (R2W, 100.0, 100.0), (R2W, 1e3, 1e3), (R2W, 10e3, 10e3),
        (R4W, 100.0, 100.0), (R4W, 1e3, 1e3), (R4W, 10e3, 10e3), (R4W, 100e3, 100e3),
    ]
