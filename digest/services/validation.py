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


# Bidirectional controls (embeddings, overrides, isolates): they reorder what a reader sees, so a name
# could show one address or phrase while holding another.
_BIDI = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))


def _is_control(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F


def unsafe_in_line(text: str) -> bool:
    """True when `text` holds what no single-line field may: line breaks, NUL, other C0/C1 controls, bidi
    controls. A header built from such a field would break every message it is in."""
    return any(_is_control(ch) or ch in _BIDI for ch in text)


def clean_name(text: str) -> str:
    """A person's name as they typed it, without controls or bidi overrides, its whitespace collapsed:
    what subscribers enter is cleaned rather than refused, so a pasted name never costs them the form."""
    kept = "".join(" " if _is_control(ch) else ch for ch in text if ch not in _BIDI)
    return " ".join(kept.split())
