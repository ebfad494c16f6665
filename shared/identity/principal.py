"""Who calls: the principal a verified token names. Claims, not request bodies, say who acts and for
which center and department (the token contract is in docs/integration.md, "Identities")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.personal_data import id_number_digest


class Role(StrEnum):
    WINDOW = "window"  # 窗口人员: files, supplements, delivers cases of their center
    DEPARTMENT = "department"  # 部门人员: lists and acts on their own department's parts only
    SUPERVISOR = "supervisor"  # 监察人员: reads supervision, urges
    ADMIN = "admin"  # 中心管理员: everything a supervisor may, and the manual clock where it is enabled
    OPERATOR = "operator"  # 运维人员: watches the console (streams, bridges, dead letters); acts on no case
    APPLICANT = "applicant"  # 申请人: reads their own cases only


ROLE_TEXT = {
    Role.WINDOW: "窗口人员",
    Role.DEPARTMENT: "部门人员",
    Role.SUPERVISOR: "监察人员",
    Role.ADMIN: "中心管理员",
    Role.OPERATOR: "运维人员",
    Role.APPLICANT: "申请人",
}
STAFF = (Role.WINDOW, Role.DEPARTMENT, Role.SUPERVISOR, Role.ADMIN, Role.OPERATOR)
CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class InvalidClaims(ValueError):
    """The token is genuine but does not say who the caller is in Lianban's terms."""


@dataclass(frozen=True)
class Principal:
    subject: str  # the staff id recorded on what they do (preferred_username, else sub)
    role: Role
    center: str | None = None
    department: str | None = None
    id_number_sha256: str | None = None  # an applicant's ID number, only ever held hashed

    @classmethod
    def of(cls, claims: dict[str, Any]) -> Principal:
        """The principal of a verified token's claims: `lianban_role`, `lianban_center`,
        `lianban_department` and, for an applicant, `lianban_id_number`."""
        subject = claims.get("preferred_username") or claims.get("sub")
        if not isinstance(subject, str) or not 0 < len(subject) <= 64 or not subject.isprintable():
            raise InvalidClaims("令牌缺少有效的 sub (no usable subject, at most 64 printable characters)")
        try:
            role = Role(str(claims.get("lianban_role")))
        except ValueError:
            raise InvalidClaims(f"令牌的 lianban_role 须为 {', '.join(Role)} (lianban_role must be one of them)") from None
        center, department = _code(claims, "lianban_center"), _code(claims, "lianban_department")
        id_number = claims.get("lianban_id_number")
        if role in STAFF and center is None:
            raise InvalidClaims("工作人员令牌须含 lianban_center (a staff token names its center)")
        if role is Role.DEPARTMENT and department is None:
            raise InvalidClaims("部门人员令牌须含 lianban_department (a department token names its department)")
        if role is not Role.APPLICANT:
            return cls(subject, role, center, department)
        if not (isinstance(id_number, str) and 6 <= len(id_number) <= 32):
            raise InvalidClaims("申请人令牌须含 lianban_id_number (an applicant token carries the ID number)")
        return cls(subject, role, center, department, id_number_digest(id_number))

    def __str__(self) -> str:
        """How a request's subject appears in logs: never an applicant's ID number."""
        scope = "/".join(x for x in (self.center, self.department) if x)
        return f"{self.role.value}:{self.subject}" + (f"@{scope}" if scope else "")


def _code(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not CODE.match(value):
        raise InvalidClaims(f"令牌的 {name} 不是有效代码 ({name} must be letters, digits, '_' or '-', at most 64)")
    return value
