"""Placeholder: replaced by the dashboard work."""

from __future__ import annotations


def register(runtime) -> None:
    pass
