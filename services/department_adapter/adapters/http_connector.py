"""Connector for a department that exposes a REST API (the simulators speak this protocol).

Its protocol is the department's, not ours: camelCase fields, verdicts such as PASS/REJECT. The
translation lives here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp

from services.department_adapter.adapters.connector import BridgeFacts, ConnectorError, News, WorkRefused
from services.department_adapter.domain.answer import Answer, NotYetDecided
from shared.contracts import (
    Accept,
    Approve,
    Certificate,
    Deny,
    DepartmentAction,
    HandlingStarted,
    Refuse,
    RequestSupplement,
    RequireRectification,
    SupervisionAlert,
    SupplementItem,
    Transfer,
    WorkOrder,
)

RETRY_LATER = {408, 425, 429}  # timeout, too early, too many requests: the system may take it later


class HttpConnector:
    """`intake_url`: the center's intake address, against which a work order's file URLs resolve for the
    department system (it fetches them with its own service account's token, docs/integration.md)."""

    bridge = "http"

    def __init__(self, base_url: str, timeout: float, intake_url: str = "") -> None:
        self.base_url, self.timeout = base_url.rstrip("/"), aiohttp.ClientTimeout(total=timeout)
        self.intake_url = intake_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None
        self._last_answer: datetime | None = None

    async def start(self, news: News) -> None:
        """Nothing of its own to run: every answer comes back on the call that asked."""

    def facts(self) -> BridgeFacts:
        return BridgeFacts(self._last_answer, {"url": self.base_url})

    def _client(self) -> aiohttp.ClientSession:
        """aiohttp (not httpx) here: measured, the HTTP client was half of an adapter's CPU."""
        if self._session is None:  # created inside the running loop, on first use
            self._session = aiohttp.ClientSession(self.base_url, timeout=self.timeout, connector=aiohttp.TCPConnector(limit=100))
        return self._session

    async def pre_review(self, order: WorkOrder) -> Answer:
        body = await self._post("/gov/v1/prereview", {**self._request(order), "round": order.round})
        with nonsense_is_an_error():
            return Answer(pre_review_action(body), body.get("handler") or "unknown")

    async def decide(self, work: HandlingStarted) -> Answer:
        request = self._request(work) | ({"transferTo": work.transfer_to} if work.transfer_to else {})
        body = await self._post("/gov/v1/applications", request)
        if body["result"] == "PENDING":
            raise NotYetDecided(work.work_order_id)
        with nonsense_is_an_error():
            return Answer(decision(body), body.get("handler") or "unknown")

    async def notify(self, alert: SupervisionAlert) -> str:
        body = await self._post(
            "/gov/v1/notices",
            {"noticeId": alert.alert_id, "bizNo": alert.work_order_id, "kind": alert.kind, "message": alert.message},
        )
        if body["result"] != "RECEIVED":
            raise ConnectorError(f"department system did not take the notice: {body['result']!r}")
        return str(body.get("handler") or "unknown")

    async def _post(self, path: str, request: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self._client().post(path, json=request) as response:
                if 400 <= response.status < 500 and response.status not in RETRY_LATER:
                    raise WorkRefused(
                        f"department system refused the request: HTTP {response.status} {(await response.text())[:500]}"
                    )
                response.raise_for_status()
                body: dict[str, Any] = await response.json(content_type=None)  # JSON, whatever it is labelled
            body["result"]
            self._last_answer = datetime.now(UTC)
            return body
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
            raise ConnectorError(f"department system: {type(exc).__name__}: {exc}") from exc

    def _request(self, work: WorkOrder | HandlingStarted) -> dict[str, Any]:
        return {
            "bizNo": work.work_order_id,
            "caseRef": work.case_id,
            "itemCode": work.part_code,
            "applicantName": work.applicant.name,
            "applicantCertNo": work.applicant.id_number,
            "attachments": attachments(work, self.intake_url),
        }

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def attachments(work: WorkOrder | HandlingStarted, intake_url: str) -> list[dict[str, Any]]:
    """The work's materials in the department's terms: a stored file with its absolute URL (against the
    center's intake), hash, size and type; any other reference as the window gave it."""
    latest = {f.name: f for f in work.material_files}  # versions in order: the last one of each name
    listed: list[dict[str, Any]] = []
    for name, reference in work.materials.items():
        file = latest.get(name)
        if file is None or reference != f"sha256:{file.sha256}":
            listed.append({"name": name, "url": reference})  # a link into another system, as given
            continue
        url = f"{intake_url}{file.url}"
        listed.append({"name": name, "url": url, "sha256": file.sha256, "size": file.size, "mediaType": file.media_type})
    return listed


@contextmanager
def nonsense_is_an_error() -> Iterator[None]:
    """An answer missing what its verdict needs (or of the wrong shape) is the system's fault: retried."""
    try:
        yield
    except (KeyError, TypeError, ValueError) as exc:
        raise ConnectorError(f"department system answered nonsense: {type(exc).__name__}: {exc}") from exc


def pre_review_action(body: dict[str, Any]) -> DepartmentAction:
    verdict = body["result"]
    if verdict == "ACCEPT":
        return Accept(opinion=body.get("opinion"))
    if verdict == "SUPPLEMENT":
        return RequestSupplement(items=[SupplementItem(material=m["name"], reason=m["reason"]) for m in body["missing"]])
    if verdict == "REFUSE":
        return Refuse(reason=body.get("opinion"), legal_basis=body.get("lawBasis"))
    raise ConnectorError(f"department system answered an unknown pre-review verdict {verdict!r}")


def decision(body: dict[str, Any]) -> DepartmentAction:
    verdict = body["result"]
    if verdict == "PASS":
        certificates = [Certificate(name=c["name"], sha256=c["sha256"]) for c in body.get("certificates") or []]
        return Approve(document_number=body.get("docNo"), documents=body.get("docs") or [], certificates=certificates)
    if verdict == "REJECT":
        return Deny(legal_basis=body.get("lawBasis"), reason=body.get("opinion"), written_opinion=body.get("opinion"))
    if verdict == "RECTIFY":
        return RequireRectification(items=body.get("rectifyItems") or ["按意见整改"])
    if verdict == "TRANSFER":  # 初审转报: the first review done, the part goes up to `transferTo`
        return Transfer(opinion=body.get("opinion") or "初审同意，转报上级")
    raise ConnectorError(f"department system answered an unknown verdict {verdict!r}")
