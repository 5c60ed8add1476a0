"""Generate the web app's TypeScript types of the gateway's REST and WebSocket shapes.

    python scripts/gen_api_types.py          # regenerate webapp/src/lib/api/{openapi.json,schema.d.ts}
    python scripts/gen_api_types.py --check  # exit 1 when either is stale

Two steps: the gateway's OpenAPI document (its REST routes, and the WebSocket frames as
components.schemas) is dumped from `create_app(...).openapi()`, then openapi-typescript (pinned in
webapp/package-lock.json) turns it into schema.d.ts. The JSON is committed too, so that a review
shows the contract change beside the code change. The second step needs node and webapp/node_modules
(`npm ci`); without them --check still checks the JSON and says the types were not checked.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WEBAPP = ROOT / "webapp"
OUT = WEBAPP / "src" / "lib" / "api"
OPENAPI = OUT / "openapi.json"
SCHEMA = OUT / "schema.d.ts"
GENERATOR = WEBAPP / "node_modules" / "openapi-typescript" / "bin" / "cli.js"


def openapi_document() -> dict[str, Any]:
    """The gateway's OpenAPI document, as it serves it at /api/v1/openapi.json."""
    sys.path.insert(0, str(ROOT))
    from edge_gateway.app import create_app
    from edge_gateway.settings import GatewaySettings

    # Settings do not change the document; the secret only has to pass validation.
    document: dict[str, Any] = create_app(GatewaySettings(client_secret="openapi-export-only-secret")).openapi()
    return document


def write_openapi(path: Path) -> None:
    path.write_text(json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n")


def node_missing() -> str | None:
    """Why schema.d.ts cannot be generated here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not GENERATOR.exists():
        return f"{GENERATOR.relative_to(ROOT)} is missing (cd webapp && npm ci)"
    return None


def write_schema(openapi: Path, path: Path) -> None:
    command = ["node", str(GENERATOR), str(openapi), "--output", str(path), "--default-non-nullable", "false"]
    # A field with a default is optional in a request body: without the flag it would be required.
    result = subprocess.run(command, cwd=WEBAPP, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"openapi-typescript failed:\n{result.stdout}{result.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when the committed files are stale")
    options = parser.parse_args()
    missing = node_missing()
    if not options.check:
        OUT.mkdir(parents=True, exist_ok=True)
        write_openapi(OPENAPI)
        if missing:
            print(f"cannot generate {SCHEMA.relative_to(ROOT)}: {missing}", file=sys.stderr)
            return 1
        write_schema(OPENAPI, SCHEMA)
        print(f"==> wrote {OPENAPI.relative_to(ROOT)} and {SCHEMA.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh_json, fresh_ts = Path(tmp) / "openapi.json", Path(tmp) / "schema.d.ts"
        write_openapi(fresh_json)
        stale = [] if OPENAPI.exists() and OPENAPI.read_text() == fresh_json.read_text() else [OPENAPI]
        if missing:
            print(f"schema.d.ts not checked: {missing}")
        else:
            write_schema(fresh_json, fresh_ts)
            if not SCHEMA.exists() or SCHEMA.read_text() != fresh_ts.read_text():
                stale.append(SCHEMA)
    if stale:
        names = ", ".join(str(p.relative_to(ROOT)) for p in stale)
        print(f"stale: {names}; run scripts/gen_api_types.py (or npm run gen:types in webapp/)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
