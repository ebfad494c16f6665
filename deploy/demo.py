"""Realistic joint cases for demos, end-to-end tests and the benchmark: a restaurant opening (market
regulation, fire, tax) and digging up a road (city management, traffic police)."""

from __future__ import annotations

import copy
import struct
import time
import uuid
import zlib
from typing import Any

import httpx

RESTAURANT_MATERIALS = {
    "market": {"食品经营许可申请书": "doc://demo/food-licence-form", "经营场所平面图": "doc://demo/floor-plan"},
    "fire": {"消防安全检查申请表": "doc://demo/fire-form", "场所消防安全制度": "doc://demo/fire-rules"},
    "tax": {"财务负责人信息": "doc://demo/finance-officer"},
}
RESTAURANT_DEPARTMENTS = tuple(RESTAURANT_MATERIALS)


def restaurant_case(
    applicant_id: str | None = None, name: str = "杭州味道餐饮管理有限公司", materials: dict[str, dict[str, str]] | None = None
) -> dict[str, Any]:
    """The case's body; its materials are links into another system unless `materials` names uploaded files."""
    applicant_id = applicant_id or f"9133{uuid.uuid4().hex[:14].upper()}"
    return {
        "matter_code": "JM-REST-001",
        "applicant": {"kind": "enterprise", "name": name, "id_number": applicant_id, "phone": "0571-88880000"},
        "lead_window": {"department": "market", "window_id": "W-03"},
        "materials": copy.deepcopy(materials or RESTAURANT_MATERIALS),  # the caller's to change
    }


ROAD_MATERIALS = {
    "urban": {
        "挖掘城市道路申请表": "doc://demo/dig-form",
        "施工方案": "doc://demo/works-plan",
        "道路恢复承诺书": "doc://demo/restore",
    },
    "traffic": {"占道施工申请表": "doc://demo/occupy-form", "交通组织方案": "doc://demo/traffic-plan"},
}


def road_case(applicant_id: str | None = None) -> dict[str, Any]:
    """A second joint case (digging up a road: city management and traffic police), for `make run`'s
    departments on the other bridges."""
    applicant_id = applicant_id or f"9133{uuid.uuid4().hex[:14].upper()}"
    return {
        "matter_code": "JM-ROAD-001",
        "applicant": {
            "kind": "enterprise",
            "name": "杭州城建管网工程有限公司",
            "id_number": applicant_id,
            "phone": "0571-88881111",
        },
        "lead_window": {"department": "urban", "window_id": "W-07"},
        "materials": copy.deepcopy(ROAD_MATERIALS),
    }


DISTRICT_MATERIALS = {
    "planning": {
        "建设工程规划许可申请表": "doc://demo/planning-form",
        "设计方案总平面图": "doc://demo/site-plan",
        "土地权属证明": "doc://demo/land-title",
    },
    "fire": {"消防设计审查申请表": "doc://demo/fire-design-form", "消防设计文件": "doc://demo/fire-design"},
}


def district_case(applicant_id: str | None = None) -> dict[str, Any]:
    """A district's joint review of a building project (`make run CENTERS=2`): the district's fire department
    decides its part; its planning department reviews first and the city's planning bureau decides (初审转报)."""
    applicant_id = applicant_id or f"9133{uuid.uuid4().hex[:14].upper()}"
    return {
        "matter_code": "JM-DIST-001",
        "applicant": {
            "kind": "enterprise",
            "name": "杭州西湖文旅建设有限公司",
            "id_number": applicant_id,
            "phone": "0571-88882222",
        },
        "lead_window": {"department": "planning", "window_id": "W-11"},
        "materials": copy.deepcopy(DISTRICT_MATERIALS),
    }


def upload_restaurant_files(intake: str, credentials: dict[str, str]) -> dict[str, dict[str, str]]:
    """Every material of the restaurant case as a small real file, uploaded at the window: the case's
    materials naming them (`sha256:…`)."""
    materials: dict[str, dict[str, str]] = {}
    for department, named in RESTAURANT_MATERIALS.items():
        for title in named:
            content = sample_png() if title == "经营场所平面图" else sample_pdf(f"{department} {title} {uuid.uuid4()}")
            response = httpx.post(f"{intake}/api/v1/materials", content=content, headers=credentials, timeout=30)
            response.raise_for_status()
            materials.setdefault(department, {})[title] = response.json()["reference"]
    return materials


def wait_for_reply(gateway: str, case_id: str, credentials: dict[str, str], timeout: float = 60.0) -> dict[str, Any]:
    """Poll the gateway until the case has its unified reply, with the applicant's query code
    (``X-Query-Code``) or a staff member's token (``Authorization``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(f"{gateway}/api/v1/cases/{case_id}", headers=credentials, timeout=5)
        if response.status_code == 200 and response.json()["reply"]:
            return dict(response.json())
        time.sleep(0.2)
    raise TimeoutError(f"no unified reply for {case_id} within {timeout}s")


# -- small real files, as a window scans them in ------------------------------------------------

PDF_HEAD = b"%PDF-1.4\n"


def sample_pdf(text: str, padding: int = 0) -> bytes:
    """A one-page PDF whose content says `text`, padded (in a comment) to grow it."""
    body = f"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n% {text}\n".encode()
    return PDF_HEAD + body + b"%" + b"0" * padding + b"\n%%EOF\n"


def sample_png(width: int = 2, height: int = 2) -> bytes:
    """A tiny grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
