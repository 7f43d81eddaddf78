"""Every register test runs against SQLite and against a real PostgreSQL
server: the one at CALSTATION_TEST_PG (default
postgresql://postgres@127.0.0.1:5432/test) where one answers, otherwise
one this suite starts itself with pytest-postgresql (Debian's postgresql
binaries, which `make test` installs where it can). Each test gets its own
fresh database. Skipped, with the reason, only where neither works."""

from __future__ import annotations

import glob
import os
import uuid
from collections.abc import Iterator

import pytest

PG_URL = os.environ.get("CALSTATION_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _answers(url: str) -> str:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=3):
            return ""
    except psycopg.Error as e:
        return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> str:
    """A URL of a maintenance database on a running server."""
    problem = _answers(PG_URL)
    if not problem:
        return PG_URL
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not binaries:
        pytest.skip(f"no PostgreSQL: {PG_URL} does not answer ({problem}) and no postgresql binaries "
                    "to start one (apt install postgresql)")
    try:
        from pytest_postgresql.executor import PostgreSQLExecutor

        tmp = request.config._tmp_path_factory.mktemp("pg")  # type: ignore[attr-defined]
        executor = PostgreSQLExecutor(
            executable=binaries[-1], host="127.0.0.1", port=55432, user="postgres", password="",
            dbname="postgres", options="", startparams="-w", unixsocketdir=str(tmp),
            datadir=str(tmp / "data"), postgres_options="", logfile=str(tmp / "pg.log"))
        executor.start()
        request.addfinalizer(executor.stop)
    except Exception as e:  # noqa: BLE001 - e.g. pg_ctl refuses to run as root
        pytest.skip(f"no PostgreSQL: {PG_URL} does not answer ({problem}) and starting one failed ({e})")
    return "postgresql://postgres@127.0.0.1:55432/postgres"


def _fresh_pg(base: str) -> Iterator[str]:
    import psycopg

    name = f"calstation_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/register.sqlite"
        return
    yield from _fresh_pg(request.getfixturevalue("pg_server"))


@pytest.fixture(autouse=True)
def _no_default_register(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing a test does touches the user's own register or keys."""
    home = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.delenv("CALSTATION_DB", raising=False)
