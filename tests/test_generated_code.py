"""The committed generated code in gen/ matches the .proto files."""

from __future__ import annotations

import subprocess
import sys

from tests.support.processes import ROOT


def test_generated_code_is_fresh() -> None:
    """scripts/gen_protos.py --check finds no difference between protos/ and gen/."""
    result = subprocess.run(
        [sys.executable, "scripts/gen_protos.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stale_generated_code_is_detected(tmp_path) -> None:
    """A proto change that was not regenerated makes the check fail."""
    protos = tmp_path / "protos"
    subprocess.run(["cp", "-r", str(ROOT / "protos"), str(protos)], check=True)
    subprocess.run(["cp", "-r", str(ROOT / "gen"), str(tmp_path / "gen")], check=True)
    (tmp_path / "scripts").mkdir()
    subprocess.run(["cp", str(ROOT / "scripts" / "gen_protos.py"), str(tmp_path / "scripts")], check=True)
    chat = protos / "parley" / "chat" / "v1" / "chat.proto"
    chat.write_text(
        chat.read_text().replace("message LeaveRoomResponse {}", "message LeaveRoomResponse {\n  int32 x = 1;\n}")
    )
    result = subprocess.run(
        [sys.executable, "scripts/gen_protos.py", "--check"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "chat_pb2.py" in result.stdout
