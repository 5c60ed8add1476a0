"""Helpers for the test suites: MySQL databases, service processes, grpcio-testing."""
