"""Alembic environment of the register: runs on the connection the register
passes in (``config.attributes["connection"]``); never reads a URL itself."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
