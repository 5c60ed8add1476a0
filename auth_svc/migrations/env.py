"""Alembic environment for auth_db; run through `python -m auth_svc migrate`."""

from auth_svc.models import Base
from common.migrations_env import run

run(Base.metadata, "AUTH_DATABASE_URL")
