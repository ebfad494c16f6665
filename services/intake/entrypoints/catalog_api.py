"""The published catalog (事项目录): matters with their seven publics, and joint matters."""

from __future__ import annotations

from typing import TypeVar

from fastapi import APIRouter, HTTPException

from services.intake.domain.catalog import Catalog, JointMatter, Matter

T = TypeVar("T")


def router(catalog: Catalog) -> APIRouter:
    api = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])

    @api.get("/matters", response_model=list[Matter])
    async def matters() -> list[Matter]:
        """Every matter: department, kind, legal basis, conditions, materials, limits, fees, contact."""
        return list(catalog.matters.values())

    @api.get("/matters/{code}", response_model=Matter)
    async def matter(code: str) -> Matter:
        return _one(catalog.matters, code)

    @api.get("/joint-matters", response_model=list[JointMatter])
    async def joint_matters() -> list[JointMatter]:
        """Every joint matter: lead department, parts, pre-review and overall limits, green channel."""
        return list(catalog.joint_matters.values())

    @api.get("/joint-matters/{code}", response_model=JointMatter)
    async def joint_matter(code: str) -> JointMatter:
        return _one(catalog.joint_matters, code)

    return api


def _one(entries: dict[str, T], code: str) -> T:
    if code not in entries:
        raise HTTPException(404, f"目录中没有 {code} (not in the catalog): 未列入目录一律不得实施")
    return entries[code]
