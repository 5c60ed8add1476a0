"""edge_gateway: REST and WebSocket for browsers, translated into gRPC calls and streams."""
