"""What every request schema of both services shares (pydantic v2): the strict base, bounded
text, and the one parse that turns a validation error into a 422 naming each wrong field."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from shared.plain_text import check_no_control_characters, typed_number
from shared.problem import validation_error


def text(max_length: int, min_length: int = 1) -> Any:
    """A stripped string of bounded length (a pydantic field type)."""
    return Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)
    ]


# What the no-control-character rule looks like in the documents (JSON Schema, ECMA-262 regex):
# any string but C0/C1 controls; multiline text may also hold TAB, LF and CR (CR LF becomes LF).
NO_CONTROLS = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
NO_CONTROLS_MULTILINE = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"


# An e-mail address as both servers read it, without control characters (so the document and
# the validator refuse the same strings).
_NOT_IN_ADDRESS = "@\\s\\u0000-\\u001f\\u007f-\\u009f"
EMAIL_PATTERN = (
    f"^[^{_NOT_IN_ADDRESS}]{{1,64}}@[^{_NOT_IN_ADDRESS}]{{1,255}}\\.[^{_NOT_IN_ADDRESS}]{{2,}}$"
)


def number_text(
    digits: tuple[int, int], *, keep_plus: bool = False, keep_format: bool = False
) -> Any:
    """A number typed by a person (NIK, phone, bank account) as a field type: checked by
    `typed_number`, and documented as the ASCII digits, spaces and dashes it takes (the server
    also takes other scripts' digits, which NFKC makes ASCII; the document names the plain form)."""
    low, high = digits
    plus = "\\+?" if keep_plus else ""
    return Annotated[
        str,
        BeforeValidator(
            partial(typed_number, digits=digits, keep_plus=keep_plus, keep_format=keep_format)
        ),
        WithJsonSchema(
            {
                "type": "string",
                "pattern": f"^[ -]*{plus}(?:[ -]*[0-9]){{{low},{high}}}[ -]*$",
                "maxLength": 4 * high,
            }
        ),
    ]


def stripped_at_least(no_controls: str, min_length: int) -> str:
    """`no_controls` with the length rule as the server applies it: strings are stripped first
    (`str_strip_whitespace`), so " " is empty; at least `min_length` characters from the first
    to the last that is not white space."""
    if min_length < 1:
        return no_controls
    allowed = no_controls[1:-1]  # `[^...]*` without its anchors
    if min_length == 1:
        return f"^(?={allowed}$)\\s*\\S[\\s\\S]*$"
    return f"^(?={allowed}$)\\s*\\S[\\s\\S]{{{min_length - 2},}}\\S\\s*$"


def _document_no_controls(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Every string property of a `Strict` body says in its document what the validator
    refuses: no control characters (a field that already has a pattern keeps its own)."""
    multiline: frozenset[str] = getattr(model, "MULTILINE", frozenset())
    for name, prop in schema.get("properties", {}).items():
        pattern = NO_CONTROLS_MULTILINE if name in multiline else NO_CONTROLS
        for branch in [prop, *prop.get("anyOf", [])]:
            plain = not {"pattern", "enum", "format"} & set(branch)  # those have their own grammar
            if branch.get("type") == "string" and plain:
                branch["pattern"] = stripped_at_least(pattern, branch.get("minLength", 0))
            items = branch.get("items")
            if branch.get("type") == "array" and isinstance(items, dict):
                if items.get("type") == "string" and "pattern" not in items:
                    items["pattern"] = pattern
            if branch.get("type") == "object":  # a dict field: its keys are checked too
                keys = branch.setdefault("propertyNames", {})
                if isinstance(keys, dict) and "pattern" not in keys:
                    keys["pattern"] = NO_CONTROLS


class Strict(BaseModel):
    """Every body: unknown fields refused, strings stripped, and no control characters in
    any string (422 naming the field); the fields named in `MULTILINE` may hold LF and TAB."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=_document_no_controls
    )
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
