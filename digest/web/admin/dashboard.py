"""The dashboard: the console's front page."""

from __future__ import annotations

from fastapi import APIRouter, Request

from digest.web.admin import SignedIn, admin_page

router = APIRouter(prefix="/admin")


@router.get("/")
def dashboard(request: Request, admin: SignedIn):
    return admin_page(request, "dashboard.html", admin=admin)
