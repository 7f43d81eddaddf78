"""Opening the register: which database, its schema revision, transactions.

The URL comes from ``--db``, else ``CALSTATION_DB``, else an SQLite file in
the user's data folder (platformdirs), created on first use. PostgreSQL
URLs (``postgresql://user@host/db``) use psycopg 3. An empty database is
created at the head revision; an older one is upgraded (Alembic); a newer
one is refused: this calstation does not know its tables.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import make_url

from station.errors import CalstationError

MIGRATIONS = Path(__file__).with_name("migrations")
ENV = "CALSTATION_DB"


class RegisterError(CalstationError):
    """The register cannot do what was asked; the message says why and what to do."""


def default_url() -> str:
    import platformdirs

    folder = Path(platformdirs.user_data_dir("calstation", appauthor=False))
    return f"sqlite:///{(folder / 'register.sqlite').as_posix()}"


def resolve_url(url: str | None) -> str:
    return url or os.environ.get(ENV) or default_url()


def shown(url: str) -> str:
    """The URL as it may be printed: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is shown as given
        return url


def _alembic_config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def create_engine(url: str) -> sa.Engine:
    """An engine for ``url`` with the transaction behaviour the register
    relies on: SQLite transactions take the write lock when they begin
    (BEGIN IMMEDIATE), so two stations never both read a counter first."""
    try:
        u = make_url(url)
    except Exception:  # noqa: BLE001
        raise RegisterError(f"register URL {url!r} is not a database URL; give sqlite:///PATH or "
                            "postgresql://USER@HOST/DB") from None
    backend = u.get_backend_name()
    if backend == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(u, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _connect(dbapi: Any, _record: Any) -> None:
            dbapi.isolation_level = None  # we say BEGIN ourselves
            cur = dbapi.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if backend == "postgresql":
        if u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        try:
            return sa.create_engine(u, pool_pre_ping=True)
        except ModuleNotFoundError as e:
            raise RegisterError(f"the PostgreSQL driver is missing ({e.name}); install psycopg "
                                "(pip install 'psycopg[binary]')") from None
    raise RegisterError(f"register URL {shown(url)!r}: {backend} is not supported; use SQLite "
                        "(sqlite:///PATH) or PostgreSQL (postgresql://USER@HOST/DB)")


def migrate(engine: sa.Engine, url: str) -> str:
    """Bring the database to the head revision; returns the revision it had
    ("" for an empty one). Refuses a newer, unknown revision."""
    from alembic import command

    head = head_revision()
    script = ScriptDirectory.from_config(_alembic_config())
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except sa.exc.OperationalError as e:
        raise RegisterError(f"cannot reach the register at {shown(url)} ({_first_line(e)}); check the "
                            f"URL (--db or {ENV}) and that the server is running") from None
    except sa.exc.DBAPIError as e:
        raise RegisterError(f"the register at {shown(url)} refused the connection ({_first_line(e)}); "
                            "check the URL and the user's rights") from None
    if current == head:
        return current
    if current is not None:
        try:
            script.get_revision(current)
        except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown id
            raise RegisterError(
                f"the register at {shown(url)} has schema revision {current}, newer than this "
                f"calstation knows (up to {head}); upgrade calstation on this station") from None
    if current is None:
        with engine.connect() as conn:
            tables = sa.inspect(conn).get_table_names()
        if tables:
            raise RegisterError(f"the database at {shown(url)} holds other tables ({', '.join(tables[:3])}"
                                f"...) and no register; give an empty database or a register's URL")
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")
    return current or ""


def _first_line(e: BaseException) -> str:
    orig = getattr(e, "orig", None) or e
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__
