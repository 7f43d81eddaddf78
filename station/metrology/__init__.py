"""Metrology: accuracy specifications, uncertainty budgets, decision rules, TUR.

See docs/metrology.md for the model, the policies chosen and their sources.
"""
