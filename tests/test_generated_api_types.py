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


def test_a_stale_openapi_document_is_detected(tmp_path: Path) -> None:
    """A committed openapi.json that differs from what the gateway serves fails the check."""
    for part in ("scripts", "edge_gateway", "common", "webapp/src/lib/api"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    stale = tmp_path / "webapp" / "src" / "lib" / "api" / "openapi.json"
    stale.write_text(stale.read_text().replace('"title": "Parley gateway"', '"title": "Parley gateway (old)"'))
    result = check(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "openapi.json" in result.stdout
