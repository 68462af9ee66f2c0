"""/api/v1/articles."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["articles"])
