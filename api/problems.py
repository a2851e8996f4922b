"""One exception handler that renders every failure as RFC 9457 problem details.

Body: `type`, `title`, `status`, `detail`, `instance`, and `errors: [{path, code, message_zh,
message_en}]`, plus any extra members of the failure (e.g. `existing_household_id`).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from api.encoding import shown_text
from api.errors import Problem, ServiceError
from assessment.errors import CoreError

log = logging.getLogger(__name__)

PROBLEM_TYPE = "https://hardship-assessment.example/problems/"
MEDIA_TYPE = "application/problem+json"

# Chinese wording of FastAPI/pydantic validation errors, by pydantic error type.
VALIDATION_ZH = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不允许的字段",
    "uuid_parsing": "不是有效的 UUID",
    "uuid_type": "不是有效的 UUID",
    "date_parsing": "不是有效的日期(YYYY-MM-DD)",
    "date_from_datetime_parsing": "不是有效的日期(YYYY-MM-DD)",
    "date_type": "不是有效的日期(YYYY-MM-DD)",
    "int_parsing": "不是有效的整数",
    "int_type": "不是有效的整数",
    "string_type": "必须是文本",
    "string_too_short": "文本太短",
    "string_too_long": "文本太长",
    "dict_type": "必须是对象",
    "list_type": "必须是列表",
    "bool_parsing": "不是有效的是/否值",
    "enum": "不是允许的取值",
    "literal_error": "不是允许的取值",
    "greater_than_equal": "数值太小",
    "less_than_equal": "数值太大",
    "greater_than": "数值太小",
    "less_than": "数值太大",
    "json_invalid": "请求体不是有效的 JSON",
    "model_attributes_type": "格式无效",
    "invalid_text": "文本含有空字符(NUL)或孤立的代理码位,无法保存",
    "string_unicode": "文本不是有效的 Unicode",
    "float_parsing": "不是有效的数字",
    "float_type": "不是有效的数字",
    "bool_type": "不是有效的是/否值",
    "too_long": "条目太多",
    "too_short": "条目太少",
    "string_pattern_mismatch": "格式不符合要求",
    "value_error": "取值无效",
}
STATUS_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
                 405: "Method not allowed", 409: "Conflict", 413: "Content too large",
                 422: "Unprocessable content", 500: "Internal server error"}
STATUS_ZH = {400: "请求有误", 401: "未认证", 403: "无权访问", 404: "未找到", 405: "不支持该请求方法",
             409: "冲突", 413: "请求体过大", 422: "内容无法处理", 500: "服务器内部错误"}


PATH_PART_CHARACTERS = 64  # a key longer than this is shown cut, so an error never echoes a whole body


class ContentTooLarge(HTTPException):
    """A request body over the configured limit (`ASSESS_MAX_BODY_BYTES`); the connection is then closed, as
    the rest of the body is not read."""

    def __init__(self, max_bytes: int):
        super().__init__(413, headers={"Connection": "close"})
        self.max_bytes = max_bytes


def _field_path(location: tuple) -> str:
    parts = [str(p) for p in location]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(shown_text(p if len(p) <= PATH_PART_CHARACTERS else p[:PATH_PART_CHARACTERS] + "…")
                    for p in parts)


def validation_problems(errors: list[dict]) -> list[Problem]:
    """pydantic's errors as problems, in Chinese and English (also for the pages' own forms)."""
    problems = []
    for error in errors:
        code = error.get("type", "invalid")
        zh = VALIDATION_ZH.get(code, "取值无效")
        problems.append(Problem(_field_path(tuple(error.get("loc", ()))), code, zh, error.get("msg", "invalid")))
    return problems


def _core_problems(exc) -> tuple[list[Problem], dict]:
    findings = getattr(exc, "findings", None)
    if findings is None:
        return [Problem(exc.path, exc.code, exc.message.zh, exc.message.en)], {}
    errors = [Problem(f.path, f.code, f.message.zh, f.message.en) for f in findings if f.severity == "error"]
    warnings = [Problem(f.path, f.code, f.message.zh, f.message.en).as_dict()
                for f in findings if f.severity != "error"]
    return errors, {"warnings": warnings}


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at the request's path (Starlette's 405 names only the first route's)."""
    return ", ".join(method for method in HTTP_METHODS if any(
        route.matches({**request.scope, "method": method})[0] is Match.FULL for route in request.app.router.routes))


def _describe(exc: Exception) -> tuple[int, str, str, list[Problem], dict, dict]:
    """status, code, detail, problems, extra members, headers."""
    if isinstance(exc, ServiceError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        return exc.status, exc.code, exc.detail, exc.problems, exc.extra, headers
    if isinstance(exc, CoreError):
        problems, extra = _core_problems(exc)
        return exc.status_hint, exc.code, f"{exc.message.en} / {exc.message.zh}", problems, extra, {}
    if isinstance(exc, ContentTooLarge):
        problem = Problem("", "content_too_large", f"请求体超过上限 {exc.max_bytes} 字节。",
                          f"The request body is larger than the limit of {exc.max_bytes} bytes.")
        return 413, problem.code, f"{problem.message_en} / {problem.message_zh}", [problem], {}, dict(exc.headers)
    if isinstance(exc, RequestValidationError):
        problems = validation_problems(exc.errors())
        return 422, "invalid_request", f"{len(problems)} invalid field(s) / {len(problems)} 个字段无效", problems, {}, {}
    if isinstance(exc, HTTPException):
        title = STATUS_TITLES.get(exc.status_code, "Error")
        zh = STATUS_ZH.get(exc.status_code, "错误")
        code = title.lower().replace(" ", "_")
        return exc.status_code, code, f"{title} / {zh}", [Problem("", code, zh, title)], {}, dict(exc.headers or {})
    return 500, "internal_error", "The server could not complete the request. / 服务器无法完成该请求。", [
        Problem("", "internal_error", "服务器内部错误,请稍后重试或联系管理员。",
                "Internal server error; retry later or contact the administrator.")], {}, {}


async def handle(request: Request, exc: Exception) -> JSONResponse:
    """Render any failure as problem details; unexpected ones are logged, never shown."""
    status, code, detail, problems, extra, headers = _describe(exc)
    if status == 405:
        headers = {**headers, "Allow": _allowed_methods(request)}
    if status >= 500:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        # The server closes the connection after an unhandled error; saying so keeps a client from
        # writing its next request into a closed keep-alive connection.
        headers = {**headers, "Connection": "close"}
    body = {"type": PROBLEM_TYPE + code, "title": STATUS_TITLES.get(status, "Error"), "status": status,
            "detail": detail, "instance": request.url.path, "errors": [p.as_dict() for p in problems]}
    body.update((name, value) for name, value in extra.items() if name not in body)  # never over RFC 9457's
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    for kind in (ServiceError, CoreError, RequestValidationError, HTTPException, Exception):
        app.add_exception_handler(kind, handle)
