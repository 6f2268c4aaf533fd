"""Property tests (hypothesis) for rules that must hold for every input, not just examples:
the whistleblowing state machine, RFC 8785 canonical JSON, the audit hash chain, blind-index
normalisation and receipts."""

from __future__ import annotations

import json
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from services.audit import chain
from services.whistleblowing.domain import lifecycle
from shared.crypto import normalise

STATUSES = [s.value for s in lifecycle.Status]
ALL_ROLES = frozenset({"wbs_intake", "wbs_investigator", "wbs_supervisor"})
OUTCOME_CHOICES = [None, *lifecycle.TRIAGE_OUTCOMES, *lifecycle.CONCLUSION_OUTCOMES]


@given(
    status=st.sampled_from(STATUSES),
    outcome=st.sampled_from(OUTCOME_CHOICES),
    target=st.sampled_from(STATUSES + ["deleted", ""]),
    roles=st.frozensets(st.sampled_from(sorted(ALL_ROLES | {"auditor"}))),
    new_outcome=st.sampled_from(OUTCOME_CHOICES),
    reason=st.one_of(st.none(), st.text()),
)
def test_every_accepted_transition_is_an_edge_of_the_machine(
    status, outcome, target, roles, new_outcome, reason
):
    try:
        step = lifecycle.decide(
            status, outcome, target, roles=roles, new_outcome=new_outcome, reason=reason
        )
    except lifecycle.LifecycleError:
        return
    edge = next(e for e in lifecycle.EDGES if e.source == status and e.target == target)
    assert edge.requires_outcome in (None, outcome)
    assert roles & edge.roles
    assert target in lifecycle.allowed_targets(status, outcome)
    assert step.target == target


@given(st.lists(st.sampled_from(STATUSES), max_size=12))
def test_no_path_leaves_archived_or_skips_investigation(targets):
    status, outcome, seen = "received", None, ["received"]
    for target in targets:
        try:
            choices = lifecycle.OUTCOMES.get(lifecycle.Status(target))
            step = lifecycle.decide(
                status,
                outcome,
                target,
                roles=ALL_ROLES,
                new_outcome=choices[0] if choices else None,
                reason="alasan",
            )
        except lifecycle.LifecycleError:
            continue
        status, outcome = step.target.value, step.outcome
        seen.append(status)
    if "archived" in seen:
        assert seen[-1] == "archived"  # nothing ever leaves archived
    if "concluded" in seen:
        assert "investigating" in seen[: seen.index("concluded")]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_is_stable_under_key_order_and_round_trips(value):
    encoded = chain.canonical(value)
    assert json.loads(encoded) == value
    reordered = json.loads(json.dumps(value, sort_keys=True))
    if isinstance(value, dict):
        reordered = dict(reversed(list(reordered.items())))
    assert chain.canonical(reordered) == encoded


def _event(i: int) -> dict:
    return {
        "specversion": "1.0",
        "id": str(uuid.UUID(int=i + 1)),
        "source": "/t",
        "type": "test.thing.changed.v1",
        "subject": f"S{i % 3}",
        "actor": "system",
        "time": f"2026-11-22T10:00:{i % 60:02d}.000000+00:00",
        "tenant": "t",
        "data": {"n": i},
    }


@settings(max_examples=60)
@given(n=st.integers(2, 12), data=st.data())
def test_any_single_edit_of_a_chain_is_detected(n, data):
    tenant = "t1"
    entries, prev = [], None
    for i in range(n):
        prev = chain.next_entry(tenant, prev, _event(i))
        entries.append(prev)
    assert chain.verify(tenant, entries) is None
    i = data.draw(st.integers(0, n - 1))
    kind = data.draw(st.sampled_from(["actor", "digest", "delete", "swap"]))
    tampered = list(entries)
    if kind == "delete":
        del tampered[i]
        if i == n - 1:  # a deleted tail is only visible against a checkpoint
            return
    elif kind == "swap":
        j = (i + 1) % n
        tampered[i], tampered[j] = tampered[j], tampered[i]
    else:
        from dataclasses import replace

        tampered[i] = replace(tampered[i], **{kind: "x" * 8})
    problem = chain.verify(tenant, tampered)
    assert problem is not None and problem.seq <= max(i, (i + 1) % n) + 1


@given(st.text(alphabet="0123456789 -.", max_size=30))
def test_nik_normalisation_keeps_only_digits_and_is_idempotent(value):
    once = normalise("nik", value)
    assert once.isdigit() or once == ""
    assert normalise("nik", once) == once


@given(st.from_regex(r"(\+62|62|0)8[1-9][0-9]{7,10}", fullmatch=True))
def test_every_spelling_of_an_indonesian_mobile_number_normalises_alike(number):
    canonical = normalise("phone", number)
    assert canonical.startswith("+628")
    spaced = " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    assert normalise("phone", spaced) == canonical
