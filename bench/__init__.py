"""Benchmark harness: drives the real stack (and a bare FastAPI baseline) through the public WebSocket API.

Run it with `scripts/bench` (`--quick` for the one-minute smoke preset); see docs/performance.md.
"""
