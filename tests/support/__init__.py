"""Helpers for the test suites: MySQL databases, service processes and stacks, grpcio-testing."""

import os

# Under CI=true a missing prerequisite (MySQL, Redis, Chromium, a checker) fails instead of skipping.
IN_CI = os.environ.get("CI", "").lower() == "true"
