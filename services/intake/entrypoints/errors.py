"""How service-layer refusals read over HTTP: 404, 409 with the reason, 422 field by field."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.intake.adapters.case_book import ConcurrentUpdate
from services.intake.domain.case import ApplicationInvalid
from services.intake.domain.part import Refused
from services.intake.service_layer.act import ActionNotAllowed, CaseNotFound
from services.intake.service_layer.idempotency import IdempotencyConflict
from services.intake.service_layer.submit import UnknownMatter
from shared.materials.upload import UploadRefused


def install(app: FastAPI) -> None:
    def reply(status: int, detail: object) -> JSONResponse:
        return JSONResponse({"detail": detail}, status_code=status)

    @app.exception_handler(UnknownMatter)
    async def unknown_matter(_r: Request, exc: UnknownMatter) -> JSONResponse:
        return reply(404, f"未知联办事项 unknown joint matter: {exc}")

    @app.exception_handler(CaseNotFound)
    async def no_case(_r: Request, exc: CaseNotFound) -> JSONResponse:
        return reply(404, f"未找到该办件 no case {exc}")

    @app.exception_handler(IdempotencyConflict)
    async def conflict(_r: Request, exc: IdempotencyConflict) -> JSONResponse:
        return reply(409, str(exc))

    @app.exception_handler(ActionNotAllowed)
    async def not_allowed(_r: Request, exc: ActionNotAllowed) -> JSONResponse:
        return reply(409, {"reason": exc.reason, "case_state": exc.case.state, "owes_next_step": exc.case.owes_next_step()})

    @app.exception_handler(Refused)
    async def refused(_r: Request, exc: Refused) -> JSONResponse:
        return reply(409, {"reason": exc.reason})

    @app.exception_handler(ConcurrentUpdate)
    async def busy(_r: Request, exc: ConcurrentUpdate) -> JSONResponse:
        return reply(409, f"办件 {exc} 正被同时修改，请重试 (changed concurrently; retry)")

    @app.exception_handler(UploadRefused)
    async def too_much(_r: Request, exc: UploadRefused) -> JSONResponse:
        return reply(exc.status, exc.detail)

    @app.exception_handler(ApplicationInvalid)
    async def invalid(_r: Request, exc: ApplicationInvalid) -> JSONResponse:
        return reply(422, [{"loc": ["body", *f.split(".")], "msg": r, "type": "application_invalid"} for f, r in exc.problems])
