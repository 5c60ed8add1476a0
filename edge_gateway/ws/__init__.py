"""The WebSocket side: protocol frames, connections, fan-out of chat_svc's events, presence."""
