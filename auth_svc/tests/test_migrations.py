"""auth_db migrations: after `migrate`, the schema is exactly what auth_svc.models declares."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from auth_svc.models import Base
from auth_svc.server import MIGRATIONS, migrate
from auth_svc.settings import AuthSettings
from common.db import make_engine
from common.migrations import alembic_config


def _differences(url: str) -> list[object]:
    """What alembic's autogenerate would change to make the database match the models."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_sqlite_schema_matches_the_models(tmp_path: Path) -> None:
    """On SQLite, autogenerate finds nothing to change after migrate()."""
    url = f"sqlite:///{tmp_path / 'auth.db'}"
    migrate(AuthSettings(database_url=url))
    assert _differences(url) == []


def test_migrate_twice_is_a_no_op(tmp_path: Path) -> None:
    """Running migrate() on an up-to-date database changes nothing."""
    url = f"sqlite:///{tmp_path / 'auth.db'}"
    migrate(AuthSettings(database_url=url))
    migrate(AuthSettings(database_url=url))
    assert _differences(url) == []


def test_downgrade_to_base_and_back(tmp_path: Path) -> None:
    """Downgrading to base drops every table; upgrading again restores the schema."""
    url = f"sqlite:///{tmp_path / 'auth.db'}"
    migrate(AuthSettings(database_url=url))
    command.downgrade(alembic_config(MIGRATIONS, url), "base")
    assert _tables(url) <= {"alembic_version"}
    migrate(AuthSettings(database_url=url))
    assert _differences(url) == []


@pytest.mark.mysql
def test_mysql_schema_matches_the_models(mysql_db: Callable[[str], str]) -> None:
    """On MySQL/MariaDB, autogenerate finds nothing to change after migrate()."""
    url = mysql_db("auth_migrations")
    migrate(AuthSettings(database_url=url))
    assert _differences(url) == []


@pytest.mark.mysql
def test_mysql_downgrade_to_base_and_back(mysql_db: Callable[[str], str]) -> None:
    """On MySQL/MariaDB, the downgrade drops every table and the upgrade restores the schema."""
    url = mysql_db("auth_migrations_down")
    migrate(AuthSettings(database_url=url))
    command.downgrade(alembic_config(MIGRATIONS, url), "base")
    assert _tables(url) <= {"alembic_version"}
    migrate(AuthSettings(database_url=url))
    assert _differences(url) == []
