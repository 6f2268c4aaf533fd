"""Schemathesis against a service's own served OpenAPI document: every operation, as each caller
its `security` allows, with positive and negative data, every check schemathesis has.

(schemathesis's pytest plugin does not run under pytest 9, so each operation's hypothesis
strategy is driven directly.) `EXCLUDED` names the checks left out, each with its reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

from shared.openapi import CHECKED_AGAINST, FIELDS_WITHIN

load_all_checks()

# Checks that need what an in-process run of one generated request cannot give them:
EXCLUDED = {
    # stateful: they follow links between operations over a recorded scenario (none here)
    "use_after_free": "stateful (needs a recorded create/delete scenario)",
    "ensure_resource_availability": "stateful (needs a recorded create/read scenario)",
    # needs two sets of credentials of different owners, configured as schemathesis auth
    "object_level_authorization": "needs schemathesis auth for two owners; "
    "tests/integration/shared/test_isolation.py covers it",
}
CHECKS_RUN = [c for c in CHECKS.get_all() if getattr(c, "__name__", "") not in EXCLUDED]
# Without the data-acceptance check: for an answer refusing only fields the document marks as
# checked against the city's data (CHECKED_AGAINST), which JSON Schema cannot enumerate.
CHECKS_BUT_ACCEPTANCE = [
    c for c in CHECKS_RUN if getattr(c, "__name__", "") != "positive_data_acceptance"
]

Adjust = Callable[[Any, str, bool], None]

# The fixed seeds every operation is fuzzed under, a few requests each: a list, so a run repeats
# the one before (CI is reproducible), and more than one, so what one seed never generates
# another may. (One derandomized seed, which hypothesis derives from the source of `check`,
# hid four bugs until an edit of that source reseeded it, issue 21.) The first is that seed.
SEEDS = (
    int(
        "1022259577588551579134709402931041164487104384381101618033803270997345338010502"
        "1287777805979248286847291941807173810"
    ),
    20261202,
    21,
)
EXAMPLES_PER_SEED = 5


def load(app) -> Any:
    """The document the app serves, with the app as the transport of every request."""
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


def operations(schema) -> dict[str, Any]:
    return {op.label: op for op in (r.ok() for r in schema.get_all_operations())}


def callers(operation, names: dict[str, str]) -> list[str]:
    """Who may call this operation according to the document (`anonymous` when public)."""
    security = operation.definition.raw.get("security")
    if not security:
        return ["anonymous"]
    return [names[name] for requirement in security for name in requirement]


def run(
    app,
    operation,
    headers_of_caller: dict[str, str],
    mode: GenerationMode,
    seen: list[int],
    *,
    adjust: Adjust | None = None,
    max_examples: int = EXAMPLES_PER_SEED,
    seeds: tuple[int, ...] = SEEDS,
) -> None:
    """Under each of `seeds`, generate `max_examples` requests for `operation` in `mode`,
    send them as the caller, and run every check on each answer."""

    @given(case=operation.as_strategy(generation_mode=mode), real_target=st.booleans())
    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case, real_target):
        # What this harness replaces must not undo a negative case: a generated-invalid
        # component keeps its values (else the request sent is valid and "accepted").
        negative = {
            loc.value
            for loc, info in (case.meta.components.items() if case.meta else ())
            if info.mode is GenerationMode.NEGATIVE
        }
        params = case.path_parameters
        if params is not None and "tenant" in params and "path" not in negative:
            params["tenant"] = "cimahi"
        if adjust is not None:
            adjust(case, operation.label, real_target and not negative)
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        headers.update(headers_of_caller)
        case.headers = headers
        response = case.call()
        seen.append(response.status_code)
        checks = CHECKS_RUN
        if refuses_only_city_checked(operation, response):
            checks = CHECKS_BUT_ACCEPTANCE
        case.validate_response(response, checks=checks, headers=headers)

    for number in seeds:
        try:
            seed(number)(check)()
        except Exception as exc:
            # named twice: schemathesis's failure report leaves out notes, not captured output
            where = f"fuzzed under seed {number} of tests/support/fuzz.py SEEDS"
            exc.add_note(where)
            print(where)
            raise


def _components(operation) -> dict[str, Any]:
    return operation.schema.raw_schema.get("components", {}).get("schemas", {})


def _resolved(schema: Any, components: dict[str, Any]) -> dict[str, Any]:
    """`schema` with its `$ref` (to a component) followed, its siblings kept."""
    if not isinstance(schema, dict):
        return {}
    ref = schema.get("$ref", "")
    if not ref.startswith("#/components/schemas/"):
        return schema
    target = _resolved(components.get(ref.rsplit("/", 1)[1], {}), components)
    return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}


def _branches(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema and every branch of its oneOf/anyOf/allOf, refs followed."""
    out = [schema]
    for key in ("oneOf", "anyOf", "allOf"):
        for branch in schema.get(key, []):
            out += _branches(_resolved(branch, components), components)
    return out


def _body_properties(operation) -> dict[str, Any]:
    """The properties of the operation's request body (JSON or multipart), refs resolved."""
    raw = operation.definition.raw.get("requestBody", {}).get("content", {})
    components = _components(operation)
    out: dict[str, Any] = {}
    for media in raw.values():
        for branch in _branches(_resolved(media.get("schema", {}), components), components):
            out.update(branch.get("properties", {}))
    return out


def _marked(prop: dict[str, Any]) -> bool:
    return CHECKED_AGAINST in prop or any(CHECKED_AGAINST in b for b in prop.get("anyOf", []))


def _children(schema: dict[str, Any], key: str, components) -> list[dict[str, Any]]:
    """What `key` of an instance of `schema` is checked against (a property, an item)."""
    out = []
    for branch in _branches(schema, components):
        props = branch.get("properties", {})
        if key in props:
            out.append(props[key])
        elif key.isdigit() and isinstance(branch.get("items"), dict):
            out.append(branch["items"])
        elif isinstance(branch.get("additionalProperties"), dict):
            out.append(branch["additionalProperties"])
    return [_resolved(c, components) for c in out]


def field_marked(operation, field: str) -> bool:
    """Whether the document marks the body field an error names (a "/"- or "."-joined path;
    inside the property marked FIELDS_WITHIN when it names none of the body's own), or one
    of the fields it sits in, as checked against the city's data."""
    components = _components(operation)
    props = _body_properties(operation)
    keys = [k for k in field.replace(".", "/").split("/") if k]
    if not keys:
        return False
    if keys[0] in props:
        starts = [_resolved(props[keys[0]], components)]
        keys = keys[1:]
    else:
        starts = [_resolved(p, components) for p in props.values() if p.get(FIELDS_WITHIN)]
    for node in starts:
        nodes = [node]
        for key in [None, *keys]:
            if key is not None:
                nodes = [c for n in nodes for c in _children(n, key, components)]
            if any(_marked(b) for n in nodes for b in _branches(n, components)):
                return True
    return False


def refuses_only_city_checked(operation, response) -> bool:
    """A 410/415/422 problem whose every error names a body field the document marks as checked
    against the city's data (its categories, officials, document types, role rules) or a
    file's content: the server keeping a rule the document states, not a looser document."""
    if response.status_code not in (410, 415, 422):
        return False
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return False
    fields = [str(e.get("field", "")) for e in errors]
    return bool(fields) and all(field_marked(operation, f) for f in fields)
