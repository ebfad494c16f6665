"""The published catalog (事项目录): matters with their seven publics, and joint matters."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from services.intake.domain.catalog import Catalog, JointMatter, Matter


def router(catalog: Catalog) -> APIRouter:
    api = APIRouter(prefix="/api/v1/catalog", tags=["catalog"])

    @api.get("/matters", response_model=list[Matter])
    async def matters() -> list[Matter]:
        """Every matter: department, kind, legal basis, conditions, materials, limits, fees, contact."""
        return list(catalog.matters.values())

    @api.get("/matters/{code}", response_model=Matter)
    async def matter(code: str) -> Matter:
        if code not in catalog.matters:
            raise HTTPException(404, f"目录中没有事项 {code} (not in the catalog)")
        return catalog.matters[code]

    @api.get("/joint-matters", response_model=list[JointMatter])
    async def joint_matters() -> list[JointMatter]:
        """Every joint matter: lead department, parts, pre-review and overall limits, green channel."""
        return list(catalog.joint_matters.values())

    @api.get("/joint-matters/{code}", response_model=JointMatter)
    async def joint_matter(code: str) -> JointMatter:
        if code not in catalog.joint_matters:
            raise HTTPException(404, f"目录中没有联办事项 {code} (not in the catalog)")
        return catalog.joint_matters[code]

    return api
