"""Errors and findings raised by the pure core.

They carry a machine code, the field path they concern and a hint of the HTTP status, so the
service can render them without the core importing any web framework.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]
# A message shows at most this many characters of a value it quotes, so a huge bad value cannot make a
# huge error.
SHOWN_CHARACTERS = 40


def clipped(text: str) -> str:
    """`text`, cut to SHOWN_CHARACTERS characters and an ellipsis when longer."""
    return text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS] + "…"


def shown(value: object) -> str:
    """A value as a message quotes it: its repr, clipped."""
    return clipped(repr(value))


@dataclass(frozen=True)
class Message:
    """A text a person reads, in Chinese and English."""

    zh: str
    en: str


@dataclass(frozen=True)
class Finding:
    """One problem with one household's answers: an error stops scoring, a warning does not."""

    code: str
    path: str
    message: Message
    severity: Severity = "error"
    indicator: str | None = None

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "path": self.path,
            "indicator": self.indicator,
            "severity": self.severity,
            "message_zh": self.message.zh,
            "message_en": self.message.en,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Finding":
        """The finding `as_dict` gave `data`."""
        return cls(code=data["code"], path=data["path"], severity=data["severity"], indicator=data["indicator"],
                   message=Message(zh=data["message_zh"], en=data["message_en"]))


class CoreError(Exception):
    """Base of every error the core raises."""

    code = "core_error"
    status_hint = 400

    def __init__(self, message: Message, *, path: str = "", code: str | None = None):
        self.message = message
        self.path = path
        if code is not None:
            self.code = code
        super().__init__(f"{path}: {message.en}" if path else message.en)

    def __reduce__(self):
        # Rebuilt from its attributes, not from __init__'s arguments (which differ per subclass), so that
        # an error raised in another process (a cluster's worker) reaches the caller whole.
        return _rebuilt, (type(self), str(self), self.__dict__)


def _rebuilt(cls: type[CoreError], text: str, attributes: dict) -> CoreError:
    error = cls.__new__(cls)
    Exception.__init__(error, text)
    error.__dict__.update(attributes)
    return error


class CatalogError(CoreError):
    """A catalog file set that cannot be used: names the file, the entry and the problem."""

    code = "invalid_catalog"
    status_hint = 422

    def __init__(self, file: str, entry: str, problem: str, *, code: str = "invalid_catalog"):
        self.file = file
        self.entry = entry
        self.problem = problem
        super().__init__(
            Message(zh=f"目录文件 {file} 中 {entry}:{problem}", en=f"{file}: {entry}: {problem}"),
            path=f"{file}:{entry}",
            code=code,
        )


class CatalogErrors(CoreError):
    """Every problem found in one catalog, reported together."""

    code = "invalid_catalog"
    status_hint = 422

    def __init__(self, errors: list[CatalogError]):
        self.errors = tuple(errors)
        lines = "\n".join(f"  {e.file}: {e.entry}: {e.problem}" for e in self.errors)
        super().__init__(
            Message(zh=f"目录无效:\n{lines}", en=f"invalid catalog:\n{lines}"),
            path=self.errors[0].path if self.errors else "",
        )


class AnswersInvalid(CoreError):
    """A household's answers failed validation; `findings` lists every error and warning."""

    code = "invalid_answers"
    status_hint = 422

    def __init__(self, findings: list[Finding]):
        self.findings = tuple(findings)
        errors = [f for f in findings if f.severity == "error"]
        first = errors[0] if errors else None
        super().__init__(
            Message(
                zh=f"答案有 {len(errors)} 处错误",
                en=f"{len(errors)} invalid answer(s)",
            ),
            path=first.path if first else "answers",
        )


class ConfigError(CoreError):
    """A scoring configuration that does not fit its catalog."""

    code = "invalid_config"
    status_hint = 422

    def __init__(self, path: str, en: str, zh: str, *, code: str = "invalid_config"):
        super().__init__(Message(zh=zh, en=en), path=path, code=code)
