"""Request bodies as the API reads them: `json_body()` for JSON, `require_multipart()` for
uploads. What is not what the route takes is refused with the status HTTP has for it: 415 for a
body of another media type, 400 for a body that is not JSON or nests deeper than anyone's data
does (RFC 9110 §15.5.1, §15.5.16); what is JSON but wrong stays the schemas' 422."""

from __future__ import annotations

import json

from flask import request

from shared.problem import Refused

MAX_JSON_DEPTH = 32  # arrays and objects inside one another; the deepest real body has 4


def _unsupported(expected: str) -> Refused:
    headers = {"Accept-Post": expected} if request.method == "POST" else {}
    return Refused(415, f"Send the body as {expected}.", headers=headers)


def _depth_exceeds(value: object, limit: int) -> bool:
    """Whether `value` nests arrays/objects deeper than `limit` (iteratively: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def json_body() -> object | None:
    """The request's JSON body, or None when it sent no body (the schema then names what is
    missing, 422). 415 when the body is not sent as `application/json` (or `+json`), 400 when
    it is not JSON, or nests deeper than MAX_JSON_DEPTH levels."""
    raw = request.get_data(cache=True)
    if not raw:
        return None
    if not request.is_json:
        raise _unsupported("application/json")
    try:
        data = json.loads(raw)
    except RecursionError:  # nested past the parser's own limit: not data anyone sends
        raise Refused(400, f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.") from None
    except ValueError:  # includes UnicodeDecodeError
        raise Refused(400, "The body is not valid JSON.") from None
    if _depth_exceeds(data, MAX_JSON_DEPTH):
        raise Refused(400, f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.")
    return data


def require_multipart() -> None:
    """415 unless the request is `multipart/form-data` (an upload route); a request without a
    body passes (the route names the missing file, 422)."""
    if request.content_length and request.mimetype != "multipart/form-data":
        raise _unsupported("multipart/form-data")
