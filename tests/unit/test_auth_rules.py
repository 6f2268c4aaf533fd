"""Officials' sign-in, the pure rules: Argon2id password hashes, TOTP codes accepted once and
within one step of drift, the account lock's growth, throttle keys without personal data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pyotp

from shared import login_throttle
from shared.officials import _totp_step, hash_password


def test_passwords_are_hashed_with_argon2id():
    assert hash_password("correct horse").startswith("$argon2id$")


def test_a_totp_code_is_accepted_once_and_within_one_step_of_drift():
    secret = pyotp.random_base32()
    now = datetime(2026, 5, 1, 8, 0, 0, tzinfo=UTC)
    totp = pyotp.TOTP(secret)
    step = _totp_step(secret, totp.at(now), None, now)
    assert step == totp.timecode(now)
    assert _totp_step(secret, totp.at(now), step, now) is None  # replay
    assert _totp_step(secret, totp.at(now - timedelta(seconds=30)), None, now) == step - 1
    assert _totp_step(secret, totp.at(now - timedelta(seconds=90)), None, now) is None
    assert _totp_step(secret, "abcdef", None, now) is None


def test_account_lock_grows_exponentially_up_to_its_cap():
    policy = login_throttle.ACCOUNT
    assert policy.lock_for(policy.free_failures - 1) is None
    first = policy.lock_for(policy.free_failures)
    assert policy.lock_for(policy.free_failures + 1) == 2 * first
    assert policy.lock_for(policy.free_failures + 40) == policy.max_lock


def test_throttle_keys_hold_neither_username_nor_address():
    keys = login_throttle.Keys.of("secret", uuid.uuid4(), "Siti.Rahma", "203.0.113.9")
    assert "siti" not in keys.account.lower() and "203.0.113" not in keys.address
    other_tenant = login_throttle.Keys.of("secret", uuid.uuid4(), "Siti.Rahma", "203.0.113.9")
    assert keys.account != other_tenant.account
