"""Goals, charts and the Markdown report (stub; filled in below)."""
from __future__ import annotations

import json


def goals(result: dict) -> list[dict]:
    return []


def charts(result: dict, out_dir) -> list[str]:
    return []


def write_markdown(result: dict, charts: list[str]) -> None:
    pass


def console_summary(result: dict) -> str:
    return json.dumps({k: v for k, v in result["sections"].items()}, indent=1, default=str)[:4000]
