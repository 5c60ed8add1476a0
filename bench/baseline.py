"""The simplest FastAPI WebSocket broadcast server: what the stack is compared with.

No gRPC, no database, no auth: the token is the user id, the auth frame's cursors name the rooms,
a send gets the room's next seq, goes to every socket of the room, and is acked. It speaks enough of
docs/protocol.md for the bench's clients, under uvicorn with the gateway's transport settings (same
WebSocket implementation, no compression, same ping interval), so the ratio shows what the mesh and
durability cost rather than differences in the socket layer.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections import defaultdict

import orjson
import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

HEARTBEAT_S = float(os.environ.get("BENCH_BASELINE_HEARTBEAT_SECONDS", "20"))
app = FastAPI()
rooms: dict[int, set[WebSocket]] = defaultdict(set)
seqs: dict[int, int] = defaultdict(int)


@app.websocket("/api/v1/ws")
async def chat(websocket: WebSocket) -> None:
    """Sign in, then broadcast each send to its room and ack it; answer pings."""
    await websocket.accept()
    auth = orjson.loads(await websocket.receive_text())
    user_id, mine = int(auth["token"]), [int(c["room_id"]) for c in auth.get("cursors", [])]
    for room in mine:
        rooms[room].add(websocket)
    await websocket.send_text(
        orjson.dumps({"type": "ready", "user_id": user_id, "heartbeat_seconds": HEARTBEAT_S}).decode()
    )
    await websocket.send_text('{"type":"caught_up"}')
    try:
        while True:
            frame = orjson.loads(await websocket.receive_text())
            if frame["type"] == "send":
                room = frame["room_id"]
                seqs[room] += 1
                message = {
                    "room_id": room,
                    "seq": seqs[room],
                    "sender_id": user_id,
                    "client_msg_id": frame["client_msg_id"],
                }
                message["body"] = frame["body"]
                text = orjson.dumps({"type": "message", "room_id": room, "message": message}).decode()
                for peer in list(rooms[room]):
                    with contextlib.suppress(Exception):  # a peer that just left
                        await peer.send_text(text)
                ack = {"type": "send_ack", "ref": frame.get("ref"), "message": message, "duplicate": False}
                await websocket.send_text(orjson.dumps(ack).decode())
            elif frame["type"] == "ping":
                await websocket.send_text(orjson.dumps({"type": "pong", "ref": frame.get("ref")}).decode())
    except WebSocketDisconnect:
        pass
    finally:
        for room in mine:
            rooms[room].discard(websocket)


def main() -> None:
    """python -m bench.baseline serve: listen on BENCH_BASELINE_PORT (127.0.0.1)."""
    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("command", choices=["serve"])
    parser.parse_args()
    port = int(os.environ.get("BENCH_BASELINE_PORT", "8001"))
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_ping_interval=HEARTBEAT_S,
        ws_ping_timeout=HEARTBEAT_S,
    )


if __name__ == "__main__":
    main()
