"""Refusals of edited fields, shared by every editing use case (articles, lists, subscribers) and the web.

An error carries a message catalogue key and its values rather than prose, so the web
layer words it in the reader's language; `Invalid` gathers every refused field at once
so a form shows them all together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    key: str  # a message catalogue key
    values: Mapping[str, Any] = field(default_factory=dict)


class Invalid(Exception):
    """One or more fields refused; `errors` maps each field to why."""

    def __init__(self, errors: Mapping[str, FieldError]):
        super().__init__(", ".join(f"{name}: {err.key}" for name, err in errors.items()))
        self.errors = dict(errors)
