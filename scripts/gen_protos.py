"""Generate Python code and .pyi stubs from protos/ into gen/.

    python scripts/gen_protos.py          # regenerate gen/
    python scripts/gen_protos.py --check  # exit 1 when gen/ is stale

protoc runs with -Iprotos, so `protos/parley/auth/v1/auth.proto` (package parley.auth.v1) becomes
the importable module `parley.auth.v1.auth_pb2`: proto package = folder = Python import path, and
no import rewriting is needed.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
GEN = ROOT / "gen"
_BIN = Path(sys.executable).parent  # the venv holding mypy-protobuf
PACKAGE_DOC = '"""Generated from protos/ by scripts/gen_protos.py. Do not edit."""\n'


def generate(out: Path) -> None:
    """Run protoc for every .proto file and add package markers."""
    sources = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    well_known = str(resources.files("grpc_tools") / "_proto")
    args = [
        "grpc_tools.protoc",
        f"-I{PROTOS}",
        f"-I{well_known}",
        f"--plugin=protoc-gen-mypy={_BIN / 'protoc-gen-mypy'}",
        f"--plugin=protoc-gen-mypy_grpc={_BIN / 'protoc-gen-mypy_grpc'}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out=quiet:{out}",
        f"--mypy_grpc_out=quiet:{out}",
        *sources,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for directory in [out / "parley", *(p for p in (out / "parley").rglob("*") if p.is_dir())]:
        (directory / "__init__.py").write_text(PACKAGE_DOC)
    (out / "parley" / "py.typed").write_text("")


def _differences(a: Path, b: Path) -> list[str]:
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    diffs = sorted(str(p) for p in files_a ^ files_b)
    for rel in sorted(files_a & files_b):
        if not filecmp.cmp(a / rel, b / rel, shallow=False):
            diffs.append(str(rel))
    return diffs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when gen/ differs from protos/")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp)
        generate(fresh)
        diffs = _differences(fresh, GEN) if GEN.exists() else ["gen/ is missing"]
        if options.check:
            if diffs:
                print("gen/ is stale; run scripts/gen_protos.py. Differs:", *diffs, sep="\n  ")
                return 1
            return 0
        if diffs:
            shutil.rmtree(GEN, ignore_errors=True)
            shutil.copytree(fresh, GEN)
            print(f"==> regenerated gen/ ({len(diffs)} files changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
