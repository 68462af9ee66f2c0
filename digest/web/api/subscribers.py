"""/api/v1/subscribers."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["subscribers"])
