"""Crypto micro-benchmarks, in-process: identity seal/open (HPKE), field encrypt/decrypt,
receipt keyed-hash check, blind index; baselines: a bare AES-256-GCM of the same size and a bare
HMAC-SHA256. Every protected operation is reported with its ratio to its baseline (p50/p50)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import uuid

from bench.stats import ratio
from bench.timing import time_op


def run(quick: bool) -> dict:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from bench import stack
    from shared import crypto, identity
    from shared.db import service_engine, session_factory, tenant_session

    number, rounds = (300, 3) if quick else (1000, 7)
    tenant = stack.tenant()
    tid = tenant.id
    ops: dict[str, dict] = {}
    sizes = {"16B": os.urandom(16), "1KiB": os.urandom(1024)}
    ident = {
        "name": "Siti Rahmawati",
        "nik": "3277014509870001",
        "phone": "+6281234567890",
        "email": "siti.rahmawati@example.id",
    }
    ident_bytes = json.dumps(ident, sort_keys=True).encode()
    aad = f"{tid}|wb_reports|{uuid.uuid4()}|content".encode()
    bare_key = AESGCM.generate_key(256)
    hmac_key = os.urandom(32)

    # baselines
    for label, data in {**sizes, "identity": ident_bytes}.items():
        ops[f"baseline.aes_gcm_encrypt.{label}"] = time_op(
            lambda d=data: AESGCM(bare_key).encrypt(os.urandom(12), d, aad),
            number=number,
            rounds=rounds,
        )
    receipt = crypto.random_token(16)
    ops["baseline.hmac_sha256"] = time_op(
        lambda: hmac.new(hmac_key, b"nik:3277014509870001", hashlib.sha256).hexdigest(),
        number=number,
        rounds=rounds,
    )

    factory = session_factory(service_engine("whistleblowing"))
    with tenant_session(factory, tid) as session:
        session.begin()
        try:
            row_id = uuid.uuid4()
            for label, data in sizes.items():
                blob = crypto.encrypt_field(session, tid, "wb_reports", row_id, "content", data)
                ops[f"field_encrypt.{label}"] = time_op(
                    lambda d=data: crypto.encrypt_field(
                        session, tid, "wb_reports", row_id, "content", d
                    ),
                    number=number,
                    rounds=rounds,
                )
                ops[f"field_decrypt.{label}"] = time_op(
                    lambda b=blob: crypto.decrypt_field(
                        session, tid, "wb_reports", row_id, "content", b
                    ),
                    number=number,
                    rounds=rounds,
                )
            # a new record: creates and stores its record key (one INSERT in the open transaction)
            ops["field_encrypt.1KiB.new_record"] = time_op(
                lambda: crypto.encrypt_field(
                    session, tid, "wb_reports", uuid.uuid4(), "content", sizes["1KiB"]
                ),
                number=max(100, number // 5),
                rounds=rounds,
                warmup=10,
            )

            stored = crypto.keyed_hash(session, tid, "receipt", receipt)
            ops["receipt_check"] = time_op(
                lambda: crypto.hashes_equal(
                    crypto.keyed_hash(session, tid, "receipt", receipt), stored
                ),
                number=number,
                rounds=rounds,
            )
            ops["blind_index.nik"] = time_op(
                lambda: crypto.blind_index(session, tid, "nik", "3277014509870001"),
                number=number,
                rounds=rounds,
            )

            # identity sealing as the service does it (custodian public key read per call) ...
            report_id = uuid.uuid4()
            ops["identity_seal"] = time_op(
                lambda: identity.seal_identity(session, tid, report_id, ident),
                number=max(100, number // 3),
                rounds=rounds,
                warmup=10,
            )
            # ... and the HPKE part alone
            row = identity._custodian_row(session, tid)
            public = identity._public_key(row.public_key)
            info = identity._info(tid, report_id)
            ops["identity_seal.hpke_only"] = time_op(
                lambda: identity.SUITE.encrypt(ident_bytes, public, info=info),
                number=max(100, number // 3),
                rounds=rounds,
                warmup=10,
            )
            sealed = identity.seal_identity(session, tid, report_id, ident)
            private = identity._private_key(
                identity._unlock(session, row, tid, stack.CUSTODIAN_PASSPHRASE)
            )
            ops["identity_open.hpke_only"] = time_op(
                lambda: identity.SUITE.decrypt(sealed, private, info=info),
                number=max(100, number // 3),
                rounds=rounds,
                warmup=10,
            )
            # what a custodian's disclosure costs: Argon2id passphrase unlock (64 MiB) + open
            ops["identity_open.with_passphrase"] = time_op(
                lambda: identity.open_identity(
                    session, tid, report_id, sealed, stack.CUSTODIAN_PASSPHRASE
                ),
                number=5 if quick else 10,
                rounds=2 if quick else 3,
                warmup=1,
            )
            sizes_out = {
                "identity_sealed_bytes": len(sealed),
                "field_blob_bytes_1KiB": len(
                    crypto.encrypt_field(
                        session, tid, "wb_reports", row_id, "content", sizes["1KiB"]
                    )
                ),
            }
        finally:
            session.rollback()

    base_of = {
        "field_encrypt.16B": "baseline.aes_gcm_encrypt.16B",
        "field_decrypt.16B": "baseline.aes_gcm_encrypt.16B",
        "field_encrypt.1KiB": "baseline.aes_gcm_encrypt.1KiB",
        "field_decrypt.1KiB": "baseline.aes_gcm_encrypt.1KiB",
        "field_encrypt.1KiB.new_record": "baseline.aes_gcm_encrypt.1KiB",
        "receipt_check": "baseline.hmac_sha256",
        "blind_index.nik": "baseline.hmac_sha256",
        "identity_seal": "baseline.aes_gcm_encrypt.identity",
        "identity_seal.hpke_only": "baseline.aes_gcm_encrypt.identity",
        "identity_open.hpke_only": "baseline.aes_gcm_encrypt.identity",
        "identity_open.with_passphrase": "baseline.aes_gcm_encrypt.identity",
    }
    for name, base in base_of.items():
        ops[name]["baseline"] = base
        ops[name]["ratio_p50"] = round(ratio(ops[name]["p50"], ops[base]["p50"]), 2)
    return {"ops": ops, "sizes": sizes_out, "samples_per_op": f"{rounds} rounds x {number}"}
