"""/api/v1/subscribers/imports: a CSV of subscribers imported by a worker; its state while it runs and after.

Admins only. The POST stores the file and answers 202 with the import's URL at once (without a broker the
import has run by then, and the state says done); GET that URL until `status` is done or failed.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from digest.core.statuses import ImportStatus, SubscriptionStatus
from digest.services import NotFound
from digest.services.subscriber_import_jobs import ImportState, import_state, queue_import, start_import
from digest.web.api import MAX_ID, ApiCaller, api_admin_only, list_or_404
from digest.web.guard import MAX_UPLOAD

router = APIRouter(tags=["subscribers"])

ImportId = Annotated[int, Path(ge=1, le=MAX_ID, description="The import's id")]
CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "maxLength": MAX_UPLOAD}}},
        "description": "UTF-8 CSV, header `email,name,regions,topics[,status]`",
    }
}


class ProblemOut(BaseModel):
    line: int | None
    field: str | None
    severity: str
    code: str | None
    message: str


class ImportOut(BaseModel):
    id: int
    url: str = Field(description="Where to GET this import's state")
    list: str
    file_name: str
    status: ImportStatus
    rows_total: int = Field(description="Rows in the file (an estimate from its lines until it is done)")
    rows_done: int = Field(description="Rows read, through the last chunk committed")
    added: int
    updated: int
    skipped: int = Field(description="Rows refused; each has an error in `problems`")
    stopped_at: int | None = Field(description="Failed: the line where it stopped; the same file again finishes it")
    problems: builtins.list[ProblemOut] = Field(description="The first 1,000 problems, in line order")
    problems_more: int = Field(description="Problems beyond those listed")
    created_at: datetime
    finished_at: datetime | None


def import_out(state: ImportState) -> ImportOut:
    return ImportOut(
        id=state.id,
        url=f"/api/v1/subscribers/imports/{state.id}",
        list=state.list_slug,
        file_name=state.file_name,
        status=state.status,
        rows_total=state.rows_total,
        rows_done=state.rows_done,
        added=state.added,
        updated=state.updated,
        skipped=state.skipped,
        stopped_at=state.stopped_at,
        problems=[
            ProblemOut(line=p.line, field=p.field, severity=p.severity, code=p.code, message=p.message)
            for p in state.problems
        ],
        problems_more=state.problems_more,
        created_at=state.created_at,
        finished_at=state.finished_at,
    )


@router.post(
    "/subscribers/imports",
    response_model=ImportOut,
    status_code=202,
    summary="Import a CSV of subscribers: stored now, imported by a worker a chunk at a time",
    openapi_extra=CSV_BODY,
)
def create_import(
    request: Request,
    caller: Annotated[ApiCaller, Depends(api_admin_only)],
    data: Annotated[bytes, Body(media_type="text/csv", include_in_schema=False)],
    list_slug: Annotated[str | None, Query(alias="list", max_length=64)] = None,
    confirmed: Annotated[bool, Query(description="Rows without a status: confirmed (true) or pending")] = True,
    name: Annotated[str, Query(max_length=200, description="The file's name, for the report")] = "upload.csv",
) -> JSONResponse:
    web = request.app.state.web
    text = _csv_text(data)
    with web.factory.begin() as session:
        ml = list_or_404(session, list_slug)
        default = SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.PENDING
        import_id = queue_import(
            session, ml, started_by=caller.email, file_name=name, text=text, default_status=default
        )
    start_import(web.runtime, import_id)
    with web.factory.begin() as session:
        body = import_out(import_state(session, import_id))
    return JSONResponse(body.model_dump(mode="json"), status_code=202, headers={"Location": body.url})


@router.get(
    "/subscribers/imports/{import_id}",
    response_model=ImportOut,
    summary="An import's state: how far it is, its counts, and its problems by line and field",
    dependencies=[Depends(api_admin_only)],
)
def read_import(request: Request, import_id: ImportId) -> ImportOut:
    with request.app.state.web.factory.begin() as session:
        try:
            return import_out(import_state(session, import_id))
        except NotFound as exc:
            raise HTTPException(404, detail=str(exc)) from None


def _csv_text(data: bytes) -> str:
    if not data:
        raise HTTPException(422, detail=[{"type": "missing", "loc": ["body"], "msg": "the CSV file is empty"}])
    if len(data) > MAX_UPLOAD:
        raise HTTPException(413, detail=[{"type": "too_long", "loc": ["body"], "msg": f"over {MAX_UPLOAD} bytes"}])
    if b"\x00" in data:
        at = data.index(b"\x00") + 1
        raise HTTPException(422, detail=[{"type": "value_error", "loc": ["body"], "msg": f"a NUL byte at {at}"}])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        msg = f"not UTF-8 text (byte {exc.start + 1})"
        raise HTTPException(422, detail=[{"type": "value_error", "loc": ["body"], "msg": msg}]) from None
