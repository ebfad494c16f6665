"""The development issuer's login: the OpenID Connect authorization code flow with PKCE (S256) for
public clients such as the operators' console (`lianban-console`).

``GET /authorize`` checks the request and shows a Chinese login page where anyone picks a user name,
a role, a center and a department: no password, for whoever can reach a development issuer is
everyone. ``POST /authorize`` mints a one-time code (random, 60 s, bound to the client, the redirect
URI, the code challenge and the chosen claims) and sends the browser back to the redirect URI with it.
``POST /token`` exchanges the code, once, for an access token minted as `DevIssuer.mint` mints any,
when the client, the redirect URI and SHA-256 of the code verifier match; errors as RFC 6749 §5.2
says. No client is registered: any well-formed client id and any http(s) redirect URI is accepted.
Codes live in memory (the issuer is one process).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from shared.identity.principal import CODE, ROLE_TEXT, Role

if TYPE_CHECKING:
    from deploy.dev_issuer import DevIssuer

CODE_TTL = 60.0  # seconds a code may wait for its exchange
TOKEN_TTL = 3600
MAX_CODES = 10_000  # codes outstanding at once; the oldest go first beyond it
CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url of a SHA-256, unpadded
VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 §4.1
ROLES = (Role.SUPERVISOR, Role.OPERATOR, Role.ADMIN, Role.WINDOW, Role.DEPARTMENT)  # offered, in this order
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
TOKEN_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1


class BadRequest(ValueError):
    """A request the issuer refuses; `message` names the field, in Chinese and English."""

    def __init__(self, message: str, error: str = "invalid_request") -> None:
        super().__init__(message)
        self.message, self.error = message, error


@dataclass(frozen=True)
class AuthorizationRequest:
    """What a client asks at /authorize, checked; carried through the login page in hidden fields."""

    client_id: str
    redirect_uri: str
    state: str
    code_challenge: str

    @classmethod
    def of(cls, params: Mapping[str, str]) -> AuthorizationRequest:
        client_id = params.get("client_id", "")
        if not CLIENT_ID.match(client_id):
            raise BadRequest("缺少 client_id 或其格式无效 (client_id is missing or malformed)")
        redirect_uri = params.get("redirect_uri", "")
        if not _web_address(redirect_uri):
            raise BadRequest(
                "redirect_uri 须为不含片段的 http(s) 绝对地址 (redirect_uri must be an absolute http(s) URL, no fragment)"
            )
        if params.get("response_type") != "code":
            raise BadRequest("response_type 须为 code (response_type must be code)")
        if params.get("code_challenge_method") != "S256":
            raise BadRequest("code_challenge_method 须为 S256 (code_challenge_method must be S256: PKCE is required)")
        code_challenge = params.get("code_challenge", "")
        if not CHALLENGE.match(code_challenge):
            raise BadRequest(
                "code_challenge 须为 code_verifier 的 SHA-256 的 base64url 编码，43 个字符"
                " (code_challenge must be the base64url SHA-256 of the code_verifier, 43 characters)"
            )
        state = params.get("state", "")
        if not 0 < len(state) <= 1024 or not state.isprintable():
            raise BadRequest("缺少 state 或其过长 (state is missing, too long or not printable)")
        return cls(client_id, redirect_uri, state, code_challenge)

    def hidden_fields(self) -> dict[str, str]:
        return {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }


@dataclass(frozen=True)
class Login:
    """Who the user says they are on the login page, checked as Lianban reads a staff token."""

    username: str
    role: Role
    center: str
    department: str | None

    @classmethod
    def of(cls, form: Mapping[str, str]) -> Login:
        username = form.get("username", "").strip()
        if not 0 < len(username) <= 64 or not username.isprintable():
            raise BadRequest("请填写用户名，至多 64 个字符 (username: 1 to 64 printable characters)")
        role = next((role for role in ROLES if role.value == form.get("role")), None)
        if role is None:
            raise BadRequest(f"角色须为 {', '.join(ROLES)} 之一 (role must be one of them)")
        center = form.get("center", "").strip()
        if not CODE.match(center):
            raise BadRequest("中心须为字母、数字、'_' 或 '-'，至多 64 个 (center: letters, digits, '_' or '-', at most 64)")
        department = form.get("department", "").strip() or None
        if department is not None and not CODE.match(department):
            raise BadRequest(
                "部门代码须为字母、数字、'_' 或 '-'，至多 64 个 (department: letters, digits, '_' or '-', at most 64)"
            )
        if role is Role.DEPARTMENT and department is None:
            raise BadRequest("部门人员须填写部门代码 (department staff name their department)")
        return cls(username, role, center, department)


@dataclass(frozen=True)
class Grant:
    """A code's promise: a token for `login`, to whoever proves the code challenge."""

    request: AuthorizationRequest
    login: Login
    expires: float


class LoginFlow:
    """The /authorize and /token endpoints of one issuer; `center` prefills the login page."""

    def __init__(self, issuer: DevIssuer, center: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.issuer, self.center, self.clock = issuer, center, clock
        self.codes: dict[str, Grant] = {}

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/authorize", self.authorize_page, methods=["GET"], response_class=HTMLResponse)
        router.add_api_route("/authorize", self.authorize_login, methods=["POST"], response_class=HTMLResponse)
        router.add_api_route("/token", self.token, methods=["POST"])
        return router

    async def authorize_page(self, request: Request) -> Response:
        try:
            params = _single(request.query_params.multi_items())
            authorization = AuthorizationRequest.of(params)
        except BadRequest as refused:
            return _error_page(refused.message)
        return self._page(authorization, {"center": self.center, "role": ROLES[0].value})

    async def authorize_login(self, request: Request) -> Response:
        try:
            form = await _form(request)
            authorization = AuthorizationRequest.of(form)
        except BadRequest as refused:
            return _error_page(refused.message)
        try:
            login = Login.of(form)
        except BadRequest as refused:
            return self._page(authorization, form, refused.message, status=400)
        code = self._issue(Grant(authorization, login, self.clock() + CODE_TTL))
        target = _with_query(authorization.redirect_uri, code=code, state=authorization.state)
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})

    async def token(self, request: Request) -> Response:
        try:
            form = await _form(request)
            if form.get("grant_type") != "authorization_code":
                raise BadRequest(
                    "grant_type 须为 authorization_code (only the authorization code grant)", "unsupported_grant_type"
                )
            for name in ("code", "redirect_uri", "client_id", "code_verifier"):
                if not form.get(name):
                    raise BadRequest(f"缺少参数 {name} (missing parameter {name})")
            grant = self._redeem(form["code"])
            _check_grant(grant, form)
        except BadRequest as refused:
            return JSONResponse(
                {"error": refused.error, "error_description": refused.message}, status_code=400, headers=TOKEN_HEADERS
            )
        login = grant.login
        token = self.issuer.mint(
            login.role,
            login.username,
            center=login.center,
            department=login.department,
            ttl=TOKEN_TTL,
            azp=grant.request.client_id,
            scope="openid",
        )
        body = {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_TTL, "scope": "openid"}
        return JSONResponse(body, headers=TOKEN_HEADERS)

    def _issue(self, grant: Grant) -> str:
        now = self.clock()
        for code in [code for code, kept in self.codes.items() if kept.expires <= now]:
            del self.codes[code]
        while len(self.codes) >= MAX_CODES:
            del self.codes[next(iter(self.codes))]
        code = secrets.token_urlsafe(32)
        self.codes[code] = grant
        return code

    def _redeem(self, code: str) -> Grant:
        """The code's grant, spent whatever the exchange's outcome: a code is tried once."""
        grant = self.codes.pop(code, None)
        if grant is None or grant.expires <= self.clock():
            raise BadRequest("授权码无效、已过期或已使用 (the code is unknown, expired or already used)", "invalid_grant")
        return grant

    def _page(self, request: AuthorizationRequest, values: Mapping[str, str], error: str = "", status: int = 200) -> Response:
        return HTMLResponse(login_page(request, values, error), status_code=status, headers=PAGE_HEADERS)


def _check_grant(grant: Grant, form: Mapping[str, str]) -> None:
    if form["client_id"] != grant.request.client_id:
        raise BadRequest("client_id 与授权时不符 (the code was issued to another client)", "invalid_grant")
    if form["redirect_uri"] != grant.request.redirect_uri:
        raise BadRequest("redirect_uri 与授权时不符 (redirect_uri differs from the authorization request's)", "invalid_grant")
    verifier = form["code_verifier"]
    if not VERIFIER.match(verifier) or not hmac.compare_digest(s256(verifier), grant.request.code_challenge):
        raise BadRequest(
            "code_verifier 与 code_challenge 不符 (the code_verifier does not match the code_challenge)", "invalid_grant"
        )


def s256(verifier: str) -> str:
    """The S256 code challenge of a code verifier (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def _web_address(uri: str) -> bool:
    if len(uri) > 2048 or not uri.isprintable() or " " in uri:
        return False
    try:
        parts = urlsplit(uri)
        port = parts.port  # raises on a port that is not a number in range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port != 0 and "#" not in uri


def _with_query(uri: str, **params: str) -> str:
    """`uri` with `params` added to its query (RFC 6749 §3.1.2: the redirect URI's own query is kept)."""
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(query="&".join(q for q in (parts.query, urlencode(params)) if q)))


def _single(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Parameters by name; RFC 6749 §3.1 allows each at most once."""
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise BadRequest(f"参数 {name} 重复 (parameter {name} given more than once)")
        params[name] = value
    return params


async def _form(request: Request) -> dict[str, str]:
    """A form-encoded body (bounded by the app's RequestGuard), parsed here: no multipart parser needed."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise BadRequest("请求体须为 application/x-www-form-urlencoded (the body must be form-encoded)")
    try:
        pairs = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True, max_num_fields=32, strict_parsing=False)
    except ValueError:
        raise BadRequest("请求体无法解析 (the form body cannot be parsed)") from None
    return _single(pairs)


def login_page(authorization: AuthorizationRequest, values: Mapping[str, str], error: str = "") -> str:
    """The login form; `values` prefill what the user types (username, role, department, center)."""

    def value(name: str) -> str:
        return html.escape(values.get(name, ""), quote=True)

    hidden = "\n".join(
        f'    <input type="hidden" name="{name}" value="{html.escape(v, quote=True)}">'
        for name, v in authorization.hidden_fields().items()
    )
    options = "\n".join(
        f'      <option value="{role}"{" selected" if values.get("role") == role else ""}>{ROLE_TEXT[role]} ({role})</option>'
        for role in ROLES
    )
    alert = f'  <p id="error" class="error" role="alert">{html.escape(error)}</p>\n' if error else ""
    client = html.escape(authorization.client_id)
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>联办登录（开发用）</title>
<style>{STYLE}</style>
</head>
<body>
<main>
  <h1>联办登录</h1>
  <p class="warning">开发用身份提供方，勿用于生产。任何能访问此页的人都可以任意身份登录。</p>
  <p class="client">应用：{client}</p>
{alert}  <form id="login-form" method="post" action="authorize">
{hidden}
    <label for="username">用户名</label>
    <input id="username" name="username" value="{value("username")}" required maxlength="64" autocomplete="username" autofocus>
    <label for="role">角色</label>
    <select id="role" name="role">
{options}
    </select>
    <label for="department">部门代码（可选，部门人员必填）</label>
    <input id="department" name="department" value="{value("department")}" maxlength="64">
    <label for="center">中心</label>
    <input id="center" name="center" value="{value("center")}" required maxlength="64">
    <button id="login" type="submit">登录</button>
  </form>
</main>
</body>
</html>
"""


def _error_page(message: str) -> Response:
    page = f"""<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>请求无效</title><style>{STYLE}</style></head>
<body>
<main>
  <h1>登录请求无效 (invalid authorization request)</h1>
  <p id="error" class="error" role="alert">{html.escape(message)}</p>
  <p class="warning">开发用身份提供方，勿用于生产。</p>
</main>
</body>
</html>
"""
    return HTMLResponse(page, status_code=400, headers=PAGE_HEADERS)


STYLE = """
body { font-family: system-ui, "PingFang SC", "Microsoft YaHei", sans-serif; background: #f4f5f7; margin: 0; }
main { max-width: 24rem; margin: 4rem auto; background: #fff; padding: 2rem; border-radius: 8px; }
h1 { font-size: 1.4rem; margin-top: 0; }
label { display: block; margin-top: 1rem; font-size: .9rem; }
input, select { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; }
button { margin-top: 1.5rem; width: 100%; padding: .6rem; font-size: 1rem; }
.warning { color: #a15c00; background: #fff4e0; padding: .5rem; font-size: .85rem; }
.error { color: #b00020; }
.client { color: #555; font-size: .85rem; }
"""
