"""A department's own approval system, simulated: it decides after a delay, and remembers.

It speaks the department's protocol (camelCase, PASS/REJECT), not Lianban's, and answers the
same business number (bizNo) with the same decision however often it is asked, as real
systems keyed on their own numbers do. Rules per applicant let a test or a demo make one
applicant's case slow or denied.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from deploy.demo import sample_pdf
from deploy.dev_issuer import DevIssuer
from shared.identity import Role

DEFAULT_BASIS = "《中华人民共和国行政许可法》第三十八条"
CERTIFICATE = {
    "market": "食品经营许可证",
    "fire": "消防安全检查合格证",
    "tax": "发票票种核定通知书",
    "urban": "城市道路挖掘许可证",
    "traffic": "占道施工交通安全审核意见书",
}
DENIAL_BASIS = {
    "tax": "《中华人民共和国税收征收管理法》第十五条",
    "fire": "《中华人民共和国消防法》第十五条",
    "market": "《中华人民共和国行政许可法》第三十八条",
}


class Attachment(BaseModel):
    name: str
    url: str
    sha256: str | None = None  # a file the center stores: fetched and checked at pre-review
    size: int | None = None
    mediaType: str | None = None  # noqa: N815


class ApplicationIn(BaseModel):
    bizNo: str  # noqa: N815 - the department's own field names
    caseRef: str  # noqa: N815
    itemCode: str  # noqa: N815
    applicantName: str  # noqa: N815
    applicantCertNo: str  # noqa: N815
    attachments: list[Attachment]
    round: int = 1
    transferTo: str | None = None  # noqa: N815 - 初审转报: the center that decides after this first review


class Rule(BaseModel):
    """How the system treats one applicant. A supplement is asked for in the first round only."""

    prereview: Literal["accept", "supplement", "refuse"] = "accept"
    decision: Literal["approve", "deny", "rectify", "silent"] = "approve"
    delay_seconds: float = 0.0


class SimulatorSettings(BaseSettings):
    """A department's own IT system, simulated: how it decides and how long it takes."""

    model_config = SettingsConfigDict(env_prefix="LIANBAN_SIM_", extra="ignore")

    department: str
    host: str = "127.0.0.1"
    port: int = 8201
    decision: Literal["approve", "deny", "rectify", "silent"] = "approve"
    delay_seconds: float = 0.0
    center: str = Field("demo", validation_alias="LIANBAN_CENTER")
    # The development issuer (make run): the system's service account token for fetching its files comes from it.
    # Without one (a real identity provider), files are not fetched.
    issuer_dir: Path | None = Field(None, validation_alias="LIANBAN_DEV_ISSUER_DIR")
    intake_url: str = ""  # where the system uploads the certificates it issues
    certificates: bool = True  # issue each approval's licence as a file (the bench leaves it out: its workload is fixed)


class FileCheck:
    """What a department's pre-review does first: fetch every stored file with its own token and check it
    against the hash the work order gives; what cannot be read or does not match is asked for again."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings
        self.checked, self.failed = 0, 0
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient | None:
        """One client with the system's service-account token (connections reused), or None without a token."""
        if self._client is None and self.settings.issuer_dir is not None:
            issuer = DevIssuer.load(self.settings.issuer_dir)
            dept = self.settings.department
            token = issuer.mint(Role.DEPARTMENT, f"{dept}-system", center=self.settings.center, department=dept, ttl=86400)
            self._client = httpx.AsyncClient(timeout=60, headers={"Authorization": f"Bearer {token}"})
        return self._client

    async def unreadable(self, attachments: list[Attachment]) -> list[dict[str, str]]:
        client = self.client()
        if client is None:
            return []
        missing = []
        for attachment in attachments:
            if attachment.sha256 is None:
                continue
            self.checked += 1
            if await self._fetched_sha256(client, attachment.url) != attachment.sha256:
                self.failed += 1
                missing.append({"name": attachment.name, "reason": "材料无法读取或与登记的校验值不符，请重新提交"})
        return missing

    async def issue(self, case_id: str) -> list[dict[str, str]]:
        """The licence the department issues with an approval (电子证照), uploaded to the center as a file."""
        client = self.client()
        if client is None or not self.settings.intake_url or not self.settings.certificates:
            return []
        name = CERTIFICATE.get(self.settings.department, "许可证")
        licence = sample_pdf(f"{name} {case_id} {self.settings.department}")
        response = await client.post(f"{self.settings.intake_url}/api/v1/materials", content=licence)
        response.raise_for_status()
        return [{"name": name, "sha256": response.json()["sha256"]}]

    @staticmethod
    async def _fetched_sha256(client: httpx.AsyncClient, url: str) -> str | None:
        """The SHA-256 of what the URL serves, or None if it cannot be read whole."""
        digest = hashlib.sha256()
        try:
            async with client.stream("GET", url) as response:
                if response.status_code != 200:
                    return None
                async for chunk in response.aiter_bytes():
                    digest.update(chunk)
        except httpx.HTTPError:
            return None  # cut off: a transfer that ended before its declared length
        return digest.hexdigest()


def build(settings: SimulatorSettings) -> FastAPI:
    app = FastAPI(title=f"{settings.department} department system (simulated)")
    default = Rule(decision=settings.decision, delay_seconds=settings.delay_seconds)
    rules: dict[str, Rule] = {}
    answers: dict[str, dict[str, Any]] = {}
    calls = {"received": 0}
    notices: list[dict[str, Any]] = []
    serial = itertools.count(1)
    files = FileCheck(settings)

    async def answer_once(key: str, body: ApplicationIn, decide: Callable[[Rule], dict[str, Any]]) -> dict[str, Any]:
        calls["received"] += 1
        rule = rules.get(body.applicantCertNo, default)
        if rule.delay_seconds:
            await asyncio.sleep(rule.delay_seconds)
        if key not in answers:
            answer = {"code": 0, "bizNo": body.bizNo, "handler": f"{settings.department.upper()}-STAFF-01", **decide(rule)}
            if answer["result"] == "PENDING":
                return answer  # still deciding: nothing to remember yet
            answers[key] = answer
        return answers[key]

    @app.post("/gov/v1/prereview")
    async def prereview(body: ApplicationIn) -> dict[str, Any]:
        """受理审查: the files checked first (any unreadable one is asked for again), then ACCEPT,
        SUPPLEMENT (first round only, naming the first attachment) or REFUSE."""
        key = f"{body.bizNo}#review{body.round}"
        if key not in answers and (unreadable := await files.unreadable(body.attachments)):
            return await answer_once(key, body, lambda _rule: {"result": "SUPPLEMENT", "missing": unreadable})

        return await answer_once(key, body, lambda rule: pre_review(settings.department, rule, body.round, body.attachments))

    @app.post("/gov/v1/applications")
    async def apply(body: ApplicationIn) -> dict[str, Any]:
        """办理决定: PASS with a document number (and the licence as a file), REJECT with the legal basis,
        RECTIFY, or PENDING; for a first review (初审转报), TRANSFER with the opinion."""
        rule = rules.get(body.applicantCertNo, default)
        if body.transferTo:  # a first review: passed on up, the decision is the upper center's
            return await answer_once(body.bizNo, body, lambda _rule: {"result": "TRANSFER", "opinion": "初审同意，转报上级审批"})
        issued = await files.issue(body.caseRef) if body.bizNo not in answers and rule.decision == "approve" else []
        return await answer_once(body.bizNo, body, lambda rule: decision(settings.department, rule, next(serial), issued))

    @app.post("/gov/v1/notices")
    async def notice(body: dict[str, Any]) -> dict[str, Any]:
        """督办通知: the system takes a supervision notice and acknowledges it (回告)."""
        notices.append(body)
        return {"code": 0, "result": "RECEIVED", "handler": f"{settings.department.upper()}-STAFF-01"}

    @app.get("/gov/v1/notices")
    async def received_notices() -> list[dict[str, Any]]:
        return notices

    @app.put("/gov/v1/rules/{cert_no}")
    async def set_rule(cert_no: str, rule: Rule) -> Rule:
        rules[cert_no] = rule
        return rule

    @app.get("/gov/v1/stats")
    async def stats() -> dict[str, int]:
        return {
            "received": calls["received"],
            "distinct": len(answers),
            "files_checked": files.checked,
            "files_failed": files.failed,
        }

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def pre_review(department: str, rule: Rule, round: int, attachments: list[Attachment]) -> dict[str, Any]:
    """受理审查 by the rule: REFUSE, SUPPLEMENT (first round only, naming the first attachment) or ACCEPT."""
    if rule.prereview == "refuse":
        law = DENIAL_BASIS.get(department, DEFAULT_BASIS)
        return {"result": "REFUSE", "opinion": "申请事项不属于本部门受理范围", "lawBasis": law}
    if rule.prereview == "supplement" and round == 1:
        first = attachments[0].name if attachments else "申请材料"
        return {"result": "SUPPLEMENT", "missing": [{"name": first, "reason": "材料不清晰，请重新提交"}]}
    return {"result": "ACCEPT"}


def decision(department: str, rule: Rule, serial: int, certificates: list[dict[str, str]]) -> dict[str, Any]:
    """办理决定 by the rule: PASS with a document number and the licence, REJECT, RECTIFY, or PENDING (silent)."""
    if rule.decision == "silent":
        return {"result": "PENDING"}  # the department never decides
    if rule.decision == "approve":
        return {"result": "PASS", "docNo": f"{department.upper()}-{datetime.now():%Y}-{serial:06d}", "certificates": certificates}
    if rule.decision == "rectify":
        return {"result": "RECTIFY", "rectifyItems": ["按现场检查意见整改后重新申请"]}
    return {"result": "REJECT", "lawBasis": DENIAL_BASIS.get(department, DEFAULT_BASIS), "opinion": "申请材料不符合法定条件"}
