"""chat_svc: rooms, membership, messages, read markers, typing and the event stream, over gRPC."""
