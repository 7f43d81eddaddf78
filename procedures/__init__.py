"""The procedure library: one module per DUT family (docs/procedures.md)."""
