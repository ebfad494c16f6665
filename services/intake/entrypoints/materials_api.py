"""HTTP for materials: the window uploads a file (streamed, checked, stored once by its SHA-256) before it
names it in a case; a department fetches the files of its own part (docs/integration.md, "Materials")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from services.intake.service_layer.act import CaseActions
from services.intake.service_layer.materials import MaterialDesk, NotReadable, Removed
from shared.identity import Access, Principal, Role, not_found
from shared.materials.upload import UploadRefused

UPLOAD_PATH = "/api/v1/materials"  # its body is streamed to the store, past the request guard's in-memory limit


class Uploaded(BaseModel):
    sha256: str
    size: int
    media_type: str
    reference: str = Field(description="What the case names the file by, in `materials`: `sha256:<hex>`.")


def router(desk: MaterialDesk, actions: CaseActions, access: Access) -> APIRouter:
    api = APIRouter(prefix=UPLOAD_PATH, tags=["materials"])
    uploader = Depends(access.allow(Role.WINDOW, Role.DEPARTMENT))  # the window's materials, a department's certificates
    reader = Depends(access.allow(Role.WINDOW, Role.ADMIN, Role.DEPARTMENT))

    @api.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=Uploaded,
        responses={413: {"description": "over the per-file limit"}, 415: {"description": "a type not taken"}},
    )
    async def upload(request: Request, staff: Principal = uploader) -> Uploaded | JSONResponse:
        """One file as the request body (any Content-Type; the type is read from the content): PDF, JPEG, PNG
        or TIFF, at most the center's per-file limit. The same file uploaded twice is stored once. Window
        staff upload the applicant's materials; a department uploads the certificates it issues (电子证照)
        before it names them in its approval."""
        try:
            stored = await desk.upload(request.stream(), staff)
        except UploadRefused as refused:
            return JSONResponse({"detail": refused.detail}, status_code=refused.status, headers={"Connection": "close"})
        return Uploaded(sha256=stored.sha256, size=stored.size, media_type=stored.media_type, reference=stored.reference)

    @api.get("/{sha256}", response_class=StreamingResponse, responses={200: {"content": {"application/octet-stream": {}}}})
    async def download(
        sha256: str, case_id: Annotated[str, Query(max_length=64)], caller: Principal = reader
    ) -> StreamingResponse:
        """A file of a case: department staff (or its system's service account) only the files of their own
        part, every version; window staff and administrators any file of the case. Anything else is not found.
        The read is recorded; check the bytes against the SHA-256."""
        try:
            record, chunks = await desk.read(sha256, await actions.read(case_id), caller)
        except (NotReadable, FileNotFoundError):
            raise not_found(f"材料 {sha256}") from None
        except Removed as removed:
            raise HTTPException(410, str(removed)) from None

        headers = {
            "Content-Length": str(record.size),
            "ETag": f'"{record.sha256}"',
            "X-Content-SHA256": record.sha256,
        }
        return StreamingResponse(chunks, media_type=record.media_type, headers=headers)

    return api
