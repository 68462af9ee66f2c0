"""Admin pages: the suppression list, addresses nothing is ever sent to whatever list they are on.

Admins only. Adding an address that is there already updates its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse

from digest.services import NotFound
from digest.services.suppressions import add_suppression, find_suppressions, remove_suppression
from digest.services.validation import FieldError, Invalid
from digest.web import PageError
from digest.web.admin import MAX_ID, AdminOnly, admin_page, web_of
from digest.web.catalogue import subscribers as _words  # noqa: F401  (registers this area's words)
from digest.web.catalogue.sender import SUPPRESSION_KINDS

router = APIRouter(prefix="/admin")

PAGE_SIZE = 50


@router.get("/suppressions")
def suppressions(
    request: Request,
    admin: AdminOnly,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: Annotated[str, Query(max_length=20)] = "",
):
    notice = {"added": "subs_supp_added", "updated": "subs_supp_updated", "removed": "subs_supp_removed"}.get(done)
    return _suppressions_page(request, admin, SuppressionsShown(q=q, page=page, notice=notice))


@dataclass(frozen=True)
class SuppressionsShown:
    """Which page of the suppression list to show, and how the last addition went."""

    q: str = ""
    page: int = 1
    notice: str | None = None
    errors: Mapping[str, FieldError] = field(default_factory=dict)
    form: Mapping[str, str] = field(default_factory=lambda: {"email": "", "reason": ""})


def _suppressions_page(request, admin, shown: SuppressionsShown):
    """The suppression list; refused fields in `shown` make it a 400."""
    q, page = shown.q, shown.page
    with web_of(request).factory.begin() as session:
        found, total = find_suppressions(session, q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        rows = [
            {
                "id": r.id,
                "email": r.email,
                "reason": r.reason,
                "kind": r.kind,
                "event": r.event,
                "created": r.created_at.strftime("%Y-%m-%d"),
            }
            for r in found
        ]
    return admin_page(
        request,
        "subscribers_suppressions.html",
        admin=admin,
        status=400 if shown.errors else 200,
        rows=rows,
        kinds=SUPPRESSION_KINDS,
        total=total,
        q=q,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        notice=shown.notice,
        errors=shown.errors,
        form=shown.form,
    )


@router.post("/suppressions")
def suppress(
    request: Request,
    admin: AdminOnly,
    email: Annotated[str, Form(max_length=1000)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = web_of(request)
    web.check_csrf(request, csrf_token, "subs-supp-add")
    try:
        with web.factory.begin() as session:
            _, created = add_suppression(session, email, reason)
    except Invalid as exc:
        form = {"email": email[:320], "reason": reason[:300]}
        return _suppressions_page(request, admin, SuppressionsShown(errors=exc.errors, form=form))
    return RedirectResponse(f"/admin/suppressions?done={'added' if created else 'updated'}", status_code=303)


@router.post("/suppressions/{suppression_id}/delete")
def unsuppress(
    request: Request,
    admin: AdminOnly,
    suppression_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = web_of(request)
    web.check_csrf(request, csrf_token, f"subs-supp-remove-{suppression_id}")
    try:
        with web.factory.begin() as session:
            remove_suppression(session, suppression_id=suppression_id)
    except NotFound:
        raise PageError(404, "not_found") from None
    return RedirectResponse("/admin/suppressions?done=removed", status_code=303)
