"""The register's schema: created on first use, upgraded from the previous
revision with its data, a newer or foreign database refused in one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from station.cli import main
from station.register import Register, RegisterError, db


def test_an_empty_database_is_created_at_the_head(db_url: str) -> None:
    with Register.open(db_url) as reg:
        with reg.engine.connect() as c:
            assert c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == db.head_revision()
            tables = set(sa.inspect(c).get_table_names())
        assert {"users", "assets", "calibrations", "runs", "certificates", "audit", "run_points",
                "overrides"} <= tables
        assert reg.audit_verify().ok


def test_a_database_of_the_previous_revision_is_upgraded_with_its_data(db_url: str) -> None:
    engine = db.create_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(db._alembic_config(conn), "0001")
    engine.dispose()
    # a register of revision 0001 in use: a user and an asset, with their audit entries
    reg = Register(db.create_engine(db_url), db_url)
    reg.add_user(None, "ada", "Ada Admin", "administrator")
    with reg.engine.begin() as c:
        assert "run_points" not in sa.inspect(c).get_table_names()
    reg.close()
    with Register.open(db_url) as reg:
        with reg.engine.connect() as c:
            assert c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "0002"
            assert "run_points" in sa.inspect(c).get_table_names()
        assert [u.name for u in reg.users()] == ["ada"]
        check = reg.audit_verify()
        assert check.ok and check.entries == 1


def test_a_newer_schema_is_refused(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    Register.open(db_url).close()
    engine = db.create_engine(db_url)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(RegisterError, match="schema revision 0099, newer than this calstation knows"):
        Register.open(db_url)
    assert main(["register", "list", "--db", db_url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "upgrade calstation" in err


def test_a_database_with_other_tables_is_refused(db_url: str) -> None:
    engine = db.create_engine(db_url)
    with engine.begin() as c:
        c.execute(sa.text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(RegisterError, match="holds other tables .*invoices.* and no register"):
        Register.open(db_url)


@pytest.mark.parametrize("url, says", [
    ("postgresql://postgres@127.0.0.1:1/test", "cannot reach the register at postgresql://postgres@127.0.0.1:1/test"),
    ("mysql://root@127.0.0.1/test", "mysql is not supported"),
    ("not a url", "is not a database URL"),
])
def test_a_wrong_or_unreachable_url_is_one_line(url: str, says: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["register", "list", "--db", url]) == 1
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1 and "Traceback" not in err


def test_the_default_register_is_a_file_in_the_users_data_folder(capsys: pytest.CaptureFixture[str]) -> None:
    where = Path(os.environ["XDG_DATA_HOME"]) / "calstation" / "register.sqlite"  # platformdirs on Linux
    assert not where.exists()
    assert main(["register", "user", "add", "ada", "--role", "administrator", "--full-name", "Ada"]) == 0
    assert where.exists()
    assert "ada" in (main(["register", "user", "list"]), capsys.readouterr().out)[1]
