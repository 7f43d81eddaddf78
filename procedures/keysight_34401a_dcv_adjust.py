"""Keysight 34401A DC voltage as found, adjusted where it needs it, and as
left: the points of keysight-34401a-dcv; when an as-found error exceeds 80 %
of its tolerance (or fails), the operator is offered the 34401A's own
calibration adjustment (offset at zero and gain at full scale of each range,
against the calibrator), then every point is taken again as left."""

from __future__ import annotations

from procedures.keysight_34401a_dcv import Keysight34401aDcv


class Keysight34401aDcvAdjust(Keysight34401aDcv):
    name = "keysight-34401a-dcv-adjust"
    version = "1.0.0"
    title = "Keysight 34401A digital multimeter, DC voltage, as found and as left"
    method = (
        "Direct comparison with a multifunction calibrator, as found; where an error exceeds 80 % of its "
        "tolerance the DMM is adjusted (its CALibration commands, offset at zero and gain at full scale of "
        "each range against the calibrator) and every point is taken again as left (calstation procedure "
        "keysight-34401a-dcv-adjust)."
    )
    adjust_threshold = 0.8
