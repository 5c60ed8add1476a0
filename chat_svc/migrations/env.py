"""Alembic environment for chat_db; run through `python -m chat_svc migrate`."""

from __future__ import annotations

from alembic import context

from chat_svc.models import Base
from common.db import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "set sqlalchemy.url (CHAT_DATABASE_URL)"

if context.is_offline_mode():
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
