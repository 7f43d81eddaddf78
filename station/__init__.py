"""calstation core: procedures, engine, metrology, run files, certificates.

Imports no Qt and no concrete instrument driver.
"""

__version__ = "0.1.0"
