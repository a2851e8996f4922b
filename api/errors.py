"""Failures a service function reports (with an HTTP status hint); api.problems renders them as RFC 9457 problem
details."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem with one field (`path`), in Chinese and English."""

    path: str
    code: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict:
        return {"path": self.path, "code": self.code, "message_zh": self.message_zh, "message_en": self.message_en}


class ServiceError(Exception):
    """Base of the service's failures: an HTTP status, a title, and the problems found."""

    status = 400
    title = "Bad request"

    def __init__(self, code: str, message_en: str, message_zh: str, *, path: str = "",
                 extra: dict | None = None):
        super().__init__(message_en)
        self.code = code
        self.problems = [Problem(path, code, message_zh, message_en)]
        self.extra = extra or {}

    @property
    def detail(self) -> str:
        first = self.problems[0]
        return f"{first.message_en} / {first.message_zh}"


class Unauthorized(ServiceError):
    status, title = 401, "Unauthorized"


class Forbidden(ServiceError):
    status, title = 403, "Forbidden"


class NotFound(ServiceError):
    status, title = 404, "Not found"


class Conflict(ServiceError):
    status, title = 409, "Conflict"


class Invalid(ServiceError):
    status, title = 422, "Unprocessable content"


def forbidden() -> Forbidden:
    """The one answer for out-of-scope access: it says nothing about the record asked for."""
    return Forbidden("out_of_scope", "This record is outside your role or scope.", "该记录超出您的角色或权限范围。")


def not_found(what_en: str, what_zh: str, path: str = "") -> NotFound:
    return NotFound("not_found", f"{what_en} not found.", f"未找到{what_zh}。", path=path)
