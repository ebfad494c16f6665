"""A department's own approval system, simulated: it decides after a delay, and remembers.

It speaks the department's protocol (camelCase, PASS/REJECT), not Lianban's, and answers the
same business number (bizNo) with the same decision however often it is asked, as real
systems keyed on their own numbers do. Rules per applicant let a test or a demo make one
applicant's case slow or denied.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime
from typing import Literal

from fastapi import FastAPI
from pydantic import BaseModel

from shared.settings import SimulatorSettings

DENIAL_BASIS = {
    "tax": "《中华人民共和国税收征收管理法》第十五条",
    "fire": "《中华人民共和国消防法》第十五条",
    "market": "《中华人民共和国行政许可法》第三十八条",
}


class Attachment(BaseModel):
    name: str
    url: str


class ApplicationIn(BaseModel):
    bizNo: str  # noqa: N815 - the department's own field names
    caseRef: str  # noqa: N815
    itemCode: str  # noqa: N815
    applicantName: str  # noqa: N815
    applicantCertNo: str  # noqa: N815
    attachments: list[Attachment]


class Rule(BaseModel):
    decision: Literal["approve", "deny"] = "approve"
    delay_seconds: float = 0.0


def build(settings: SimulatorSettings) -> FastAPI:
    app = FastAPI(title=f"{settings.department} department system (simulated)")
    default = Rule(decision=settings.decision, delay_seconds=settings.delay_seconds)
    rules: dict[str, Rule] = {}
    answers: dict[str, dict[str, str]] = {}
    calls = {"received": 0}
    serial = itertools.count(1)

    @app.post("/gov/v1/applications")
    async def apply(body: ApplicationIn) -> dict[str, str | int]:
        calls["received"] += 1
        rule = rules.get(body.applicantCertNo, default)
        if rule.delay_seconds:
            await asyncio.sleep(rule.delay_seconds)
        if body.bizNo not in answers:
            answers[body.bizNo] = _answer(settings.department, rule, next(serial))
        return {"code": 0, "bizNo": body.bizNo, **answers[body.bizNo]}

    @app.put("/gov/v1/rules/{cert_no}")
    async def set_rule(cert_no: str, rule: Rule) -> Rule:
        rules[cert_no] = rule
        return rule

    @app.get("/gov/v1/stats")
    async def stats() -> dict[str, int]:
        return {"received": calls["received"], "distinct": len(answers)}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _answer(department: str, rule: Rule, serial: int) -> dict[str, str]:
    handler = f"{department.upper()}-STAFF-01"
    if rule.decision == "approve":
        return {"result": "PASS", "docNo": f"{department.upper()}-{datetime.now():%Y}-{serial:06d}", "handler": handler}
    return {"result": "REJECT", "lawBasis": DENIAL_BASIS.get(department, "《中华人民共和国行政许可法》第三十八条"),
            "opinion": "申请材料不符合法定条件", "handler": handler}
