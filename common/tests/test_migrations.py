"""Alembic configuration built in code."""

from __future__ import annotations

from pathlib import Path

from common.migrations import alembic_config


def test_percent_in_the_url_survives() -> None:
    """A '%' in the database URL (an escaped password) reaches alembic unchanged."""
    url = "mysql+mysqldb://auth:p%40ss%25word@127.0.0.1:3306/auth_db"
    config = alembic_config(Path("/somewhere/migrations"), url)
    assert config.get_main_option("sqlalchemy.url") == url
    assert config.get_main_option("script_location") == "/somewhere/migrations"
