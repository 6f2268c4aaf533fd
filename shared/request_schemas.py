"""What every request schema of both services shares (pydantic v2): the strict base, bounded
text, and the one parse that turns a validation error into a 422 naming each wrong field."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from shared.plain_text import check_no_control_characters
from shared.problem import validation_error


def text(max_length: int, min_length: int = 1) -> Any:
    """A stripped string of bounded length (a pydantic field type)."""
    return Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)
    ]


class Strict(BaseModel):
    """Every body: unknown fields refused, strings stripped, and no control characters in
    any string (422 naming the field); the fields named in `MULTILINE` may hold LF and TAB."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    MULTILINE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: object, info: ValidationInfo) -> object:
        return check_no_control_characters(value, multiline=info.field_name in cls.MULTILINE)


S = TypeVar("S", bound=Strict)


def parse(model: type[S], body: object) -> S:
    """The validated body, or a 422 problem naming each wrong field (values never echoed)."""
    if not isinstance(body, dict):
        raise validation_error([{"field": "(body)", "reason": "a JSON object is required"}])
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise validation_error(
            [
                {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "reason": e["msg"]}
                for e in exc.errors(include_input=False)
            ]
        ) from None
