"""A temperature indicator with its probe, calibrated by comparison with a
reference PRT and readout in a dry-well (EURAMET cg-13 practice), at
setpoints in rising order, each reached and judged stable by the well and
soaked before reading."""

from __future__ import annotations

from station.templates import ComparisonInEnvironment


class TemperatureIndicatorDrywell(ComparisonInEnvironment):
    name = "temperature-indicator-drywell"
    version = "1.0.0"
    title = "Temperature indicator with probe, by comparison in a dry-well"
    method = (
        "Comparison with a reference platinum resistance thermometer in a dry-well: at each setpoint, "
        "once the well reports stable and after a soak, n readings of the reference thermometer and of "
        "the indicator are taken alternately; the mean of the reference's, corrected by its "
        "certificate, is the reference value (calstation procedure temperature-indicator-drywell)."
    )
    setpoints = (0.0, 50.0, 100.0, 140.0)
    tolerance = 0.2  # +/- degrees C: the indicator's stated accuracy, probe included
    simulated_bench = "drywell-comparison"
