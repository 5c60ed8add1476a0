"""Each service's migrations build exactly the schema its models describe (a model change needs a migration)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine

from auth_svc.models import Base as AuthBase
from chat_svc.models import Base as ChatBase, modelled
from common import migrations
from common.migrations_env import IncludeName
from tests.support.processes import ROOT


@pytest.mark.parametrize(
    ("service", "metadata", "include_name"),
    [("auth_svc", AuthBase.metadata, None), ("chat_svc", ChatBase.metadata, modelled)],  # chat: search's own index
)
def test_migrations_build_the_models_schema(
    tmp_path: Path, service: str, metadata: MetaData, include_name: IncludeName | None
) -> None:
    """Alembic finds no difference (columns, types, indexes, server defaults) between migrations and models."""
    url = f"sqlite:///{tmp_path / f'{service}.db'}"
    migrations.upgrade(ROOT / service / "migrations", url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True, "include_name": include_name}
            )
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()
