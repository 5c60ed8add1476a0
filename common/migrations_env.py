"""The body of every service's Alembic env.py: migrate one metadata on the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData

from common.db import make_engine


def run(metadata: MetaData, url_setting: str) -> None:
    """Run the pending migrations (or print them as SQL in offline mode)."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, f"set sqlalchemy.url ({url_setting})"
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()
