"""The HDF5 run file: the record of one calibration (docs/runfile.md)."""

from station.runfile.layout import FORMAT, FORMAT_VERSION
from station.runfile.reader import RunFile
from station.runfile.writer import RunHeader, RunWriter

__all__ = ["FORMAT", "FORMAT_VERSION", "RunFile", "RunHeader", "RunWriter"]
