"""scripts/check_deploy: the deployment files pass every linter and schema, and a broken file fails.

The checkers come from the `dev` extra (requirements.lock). When one is missing the script exits 3
and these tests are skipped, saying so - except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import IN_CI

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check_deploy"
MISSING_TOOLS = 3  # check_deploy's exit status when a checker is not installed


def _run(tree: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if tree is not None:
        env["CHECK_DEPLOY_ROOT"] = str(tree)
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=300, check=False)
    if result.returncode == MISSING_TOOLS:
        if IN_CI:
            pytest.fail(f"CI=true and a deployment checker is missing: {result.stderr.strip()}")
        pytest.skip(f"deployment checkers not installed: {result.stderr.strip()}")
    return result


def _failed_checks(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The names check_deploy lists under 'check(s) FAILED:'."""
    lines = result.stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if "FAILED:" in line), len(lines))
    return [line.strip() for line in lines[start + 1 :] if line.startswith("  ")]


def test_deployment_files_pass_every_check() -> None:
    """Dockerfiles, workflows, compose files, kustomize overlays and shell scripts all pass."""
    result = _run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check_deploy: all checks passed" in result.stdout


# (file, text in it, replacement, the check that must fail)
BREAKAGES: list[tuple[str, str, str, str]] = [
    (
        "docker/auth_svc.Dockerfile",
        "FROM python:3.11.15-slim-bookworm AS runtime",
        "FROM python AS runtime",
        "hadolint docker/*.Dockerfile",
    ),
    (
        "docker/compose.yaml",
        "      auth-migrate:\n        condition: service_completed_successfully",
        "      auth-migrat:\n        condition: service_completed_successfully",
        "compose config: docker/compose.yaml",
    ),
    (
        "deploy/k8s/base/chat-svc.yaml",
        "          readinessProbe:",
        "          readinessProbes:",
        "kustomize + kubernetes-validate --strict: deploy/k8s/base",
    ),
    (
        "deploy/k8s/base/webapp.yaml",
        "kind: PodDisruptionBudget",
        "kind: PodDisruptionBudgets",
        "kustomize + kubernetes-validate --strict: deploy/k8s/base",
    ),
    (
        "deploy/k8s/base/network-policies.yaml",
        "  name: redis\nspec:\n  podSelector:",
        "  name: redis\nspec:\n  podSelectors:",
        "kustomize + kubernetes-validate --strict: deploy/k8s/base",
    ),
    (
        "deploy/k8s/dev-redis.yaml",
        "          readinessProbe:",
        "          readinessProbes:",
        "kubernetes-validate --strict: deploy/k8s/dev-redis.yaml",
    ),
    (
        ".github/workflows/ci.yml",
        "        run: bash scripts/test",
        '        run: echo "${{ github.event.pull_request.title }}"',
        "actionlint (with shellcheck)",
    ),
    (
        "docker/mysql/init/02-users.sh",
        'value="${!var:-}"',
        "value=${!var:-}; cd /nowhere",
        "shellcheck",
    ),
]


def test_each_broken_file_fails_its_check(tmp_path: Path) -> None:
    """Each checker really runs: one mistake per checker in a copy of the tree fails every check owning one."""
    for folder in ("docker", "deploy", ".github"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("release", ".env"))
    (tmp_path / "scripts").mkdir()
    shutil.copy2(SCRIPT, tmp_path / "scripts" / "check_deploy")
    (tmp_path / ".git").mkdir()  # actionlint looks for the repository root
    for path, old, new, _ in BREAKAGES:
        target = tmp_path / path
        text = target.read_text()
        assert old in text, f"{path} no longer contains {old!r}; update this test"
        target.write_text(text.replace(old, new, 1))

    result = _run(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert {check for *_, check in BREAKAGES} <= set(_failed_checks(result)), result.stdout + result.stderr
