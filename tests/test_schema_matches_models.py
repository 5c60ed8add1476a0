"""Each service's migrations build exactly the schema its models describe (a model change needs a migration)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine

from auth_svc.models import Base as AuthBase
from chat_svc.models import Base as ChatBase
from common import migrations
from tests.support.processes import ROOT


@pytest.mark.parametrize(("service", "metadata"), [("auth_svc", AuthBase.metadata), ("chat_svc", ChatBase.metadata)])
def test_migrations_build_the_models_schema(tmp_path: Path, service: str, metadata: MetaData) -> None:
    """Alembic finds no difference (columns, types, indexes, server defaults) between migrations and models."""
    url = f"sqlite:///{tmp_path / f'{service}.db'}"
    migrations.upgrade(ROOT / service / "migrations", url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()
