"""The gateway's OpenAPI document with its integer bounds exact.

FastAPI's OpenAPI model types `maximum` and its kin as float (fastapi#5464): 2^63-1 came out as
9.223372036854776e+18, which is 2^63, a value the gateway refuses, and 0 as 0.0.
"""

from __future__ import annotations

from typing import Any

from edge_gateway.schemas import INT64_MAX

_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def restore_integers(node: Any) -> None:
    """Turn the float bounds FastAPI wrote anywhere in `node` back into exact integers, in place."""
    if isinstance(node, list):
        for item in node:
            restore_integers(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in _BOUNDS and isinstance(value, float) and value.is_integer():
                node[key] = _exact_integer(value)
            else:
                restore_integers(value)


def _exact_integer(value: float) -> int:
    if abs(value) <= 2**53:  # every integer up to here is exact in a float
        return int(value)
    if value == float(INT64_MAX):
        return INT64_MAX
    raise ValueError(f"bound {value} lost its exact value in the OpenAPI document: use one below 2^53 or 2^63-1")
