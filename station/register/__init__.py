"""The lab's register (SQLAlchemy Core; SQLite by default, PostgreSQL for a
lab whose stations share one): users, customers, assets, calibration
records, runs, certificates and the audit trail. See docs/register.md."""

from station.register.core import Asset, Calibration, Customer, Register, User
from station.register.db import RegisterError

__all__ = ["Asset", "Calibration", "Customer", "Register", "RegisterError", "User"]
