"""Alembic environment for chat_db; run through `python -m chat_svc migrate`."""

from chat_svc.models import Base, modelled
from common.migrations_env import run

run(Base.metadata, "CHAT_DATABASE_URL", include_name=modelled)
