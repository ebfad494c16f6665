"""Connector for a department that exposes a REST API (the simulators speak this protocol).

Its protocol is the department's, not ours: camelCase fields, PASS/REJECT verdicts. The
translation lives here and nowhere else.
"""

from __future__ import annotations

import httpx

from services.department_adapter.adapters.connector import ConnectorError
from services.department_adapter.domain.decision import Decision
from shared.contracts import Outcome, WorkOrder


class HttpConnector:
    def __init__(self, base_url: str, timeout: float) -> None:
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout,
                                        limits=httpx.Limits(max_connections=100))

    async def decide(self, order: WorkOrder) -> Decision:
        request = {
            "bizNo": order.work_order_id,
            "caseRef": order.case_id,
            "itemCode": order.part_code,
            "applicantName": order.applicant.name,
            "applicantCertNo": order.applicant.id_number,
            "attachments": [{"name": n, "url": u} for n, u in order.materials.items()],
        }
        try:
            response = await self.client.post("/gov/v1/applications", json=request)
            response.raise_for_status()
            body = response.json()
            verdict = body["result"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise ConnectorError(f"department system: {type(exc).__name__}: {exc}") from exc
        if verdict == "PASS":
            return Decision(Outcome.APPROVED, document_number=body.get("docNo"), handled_by=body.get("handler"))
        if verdict == "REJECT":
            return Decision(Outcome.DENIED, legal_basis=body.get("lawBasis"), reason=body.get("opinion"),
                            handled_by=body.get("handler"))
        raise ConnectorError(f"department system answered an unknown verdict {verdict!r}")

    async def close(self) -> None:
        await self.client.aclose()
