"""The intake baseline: a bare Flask + SQLAlchemy endpoint that inserts the request body as one
row, with none of Replika's protection (no tenancy, validation, encryption, sealing, outbox).
Served by gunicorn exactly like the services, so the ratio isolates what the protection costs.

    gunicorn 'bench.baseline_app:create_app()'   (BENCH_BASELINE_DATABASE_URL must be set)
"""

from __future__ import annotations

import os
import uuid

from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

TABLE_SQL = """create table if not exists bench_baseline (
    id uuid primary key, tenant text not null, body bytea not null,
    created_at timestamptz not null default now())"""
INSERT = text("insert into bench_baseline (id, tenant, body) values (:i, :t, :b)")


def create_app() -> Flask:
    app = Flask(__name__)
    # a bare insert: SQLAlchemy's defaults (no pre-ping, as the services have none since #22)
    engine = create_engine(os.environ["BENCH_BASELINE_DATABASE_URL"], pool_size=5, max_overflow=10)

    @app.post("/t/<tenant>/api/v1/<kind>")
    def insert(tenant: str, kind: str):
        body = request.get_data()
        row_id = uuid.uuid4()
        with engine.begin() as conn:
            conn.execute(INSERT, {"i": row_id, "t": tenant, "b": body})
        return jsonify(id=str(row_id)), 201

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    return app


def create_table(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(TABLE_SQL))
    engine.dispose()
