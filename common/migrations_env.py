"""The body of every service's Alembic env.py: migrate one metadata on the configured URL."""

from __future__ import annotations

from collections.abc import Callable

from alembic import context
from sqlalchemy import MetaData

from common.db import make_engine

IncludeName = Callable[..., bool]  # alembic's include_name(name, type_, parent_names)


def run(metadata: MetaData, url_setting: str, include_name: IncludeName | None = None) -> None:
    """Run the pending migrations (or print them as SQL in offline mode).

    include_name: which reflected names autogenerate compares (None: all), for objects that the
    database keeps outside the metadata (chat_svc's search index).
    """
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, f"set sqlalchemy.url ({url_setting})"
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True, include_name=include_name)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection, target_metadata=metadata, render_as_batch=True, include_name=include_name
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()
