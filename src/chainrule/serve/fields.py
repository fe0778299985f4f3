"""Reading the fields of a JSON request: each wrong one is a one-line 400 naming the field."""

from __future__ import annotations

import math

from .errors import RequestError


def number(body: dict, key: str, *, positive: bool = False, default=None):
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RequestError(f"{key}: expected a finite number, got {_show(value)}")
    if positive and value <= 0:
        raise RequestError(f"{key}: must be positive, got {value}")
    return float(value)


def integer(body: dict, key: str, low: int, high: int, default=None):
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise RequestError(f"{key}: expected a whole number from {low} to {high}, got {_show(value)}")
    return value


def choice(body: dict, key: str, options, default=None):
    value = body.get(key, default)
    if value is None:
        return default
    if value not in options:
        raise RequestError(f"{key}: expected one of {', '.join(options)}, got {_show(value)}")
    return value


def text(body: dict, key: str, limit: int, default=None):
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise RequestError(f"{key}: expected a string, got {_show(value)}")
    if len(value) > limit:
        raise RequestError(f"{key}: {len(value):,} characters, more than the {limit:,} the server takes")
    return value


def refuse_unknown(body: dict, known) -> None:
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise RequestError(f"unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})")


def _show(value) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:39] + "…"
