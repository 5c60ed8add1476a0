"""The web app's committed OpenAPI document and TypeScript types match the gateway."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import ROOT

SCRIPT = ROOT / "scripts" / "gen_api_types.py"
GENERATOR = ROOT / "webapp" / "node_modules" / "openapi-typescript"


def check(root: Path) -> subprocess.CompletedProcess[str]:
    """Run the generator's --check in a tree rooted at `root`."""
    return subprocess.run(
        [sys.executable, str(root / "scripts" / "gen_api_types.py"), "--check"],
        cwd=root,
        capture_output=True,
        text=True,
    )


def test_generated_api_types_are_fresh() -> None:
    """scripts/gen_api_types.py --check finds webapp/src/lib/api/ in step with the gateway."""
    if (shutil.which("node") is None or not GENERATOR.exists()) and os.environ.get("CI", "").lower() != "true":
        pytest.skip("node or webapp/node_modules is missing: only the OpenAPI JSON could be checked")
    result = check(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not checked" not in result.stdout


def copy_tree(tmp_path: Path) -> Path:
    """A minimal tree the generator runs in: the script, the gateway's code, the committed output."""
    for part in ("scripts", "edge_gateway", "common", "webapp/src/lib/api"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "webapp" / "src" / "lib" / "api"


def test_a_stale_openapi_document_is_detected(tmp_path: Path) -> None:
    """A committed openapi.json that differs from what the gateway serves fails the check."""
    stale = copy_tree(tmp_path) / "openapi.json"
    stale.write_text(stale.read_text().replace('"title": "Parley gateway"', '"title": "Parley gateway (old)"'))
    result = check(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "openapi.json" in result.stdout


def test_a_hand_edited_schema_is_detected(tmp_path: Path) -> None:
    """A committed schema.d.ts that differs from openapi-typescript's output fails the check."""
    if shutil.which("node") is None or not GENERATOR.exists():
        pytest.skip("node or webapp/node_modules is missing")
    schema = copy_tree(tmp_path) / "schema.d.ts"
    (tmp_path / "webapp" / "node_modules").symlink_to(ROOT / "webapp" / "node_modules")
    schema.write_text(schema.read_text().replace("has_more: boolean;", "has_more?: boolean;", 1))
    result = check(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "schema.d.ts" in result.stdout and "openapi.json" not in result.stdout
