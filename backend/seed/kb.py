"""The demo tenants' knowledge bases (backend/kb_data/<tenant>.yaml), imported through the same
service merchants use; a second run updates in place and changes nothing."""

from __future__ import annotations

from pathlib import Path

from backend.wiring import Context
from backend.services.knowledge.kb import ImportReport, import_kb, parse_import, rebuild

KB_DATA = Path(__file__).resolve().parents[1] / "kb_data"


def demo_kb_file(tenant_id: str) -> Path:
    return KB_DATA / f"{tenant_id}.yaml"


def seed_kb(ctx: Context, tenant_id: str) -> ImportReport | None:
    """Import the tenant's demo knowledge base, when there is one, and build its index now so
    the demo answers from its first message (the queued rebuild then finds it current)."""
    path = demo_kb_file(tenant_id)
    if not path.is_file():
        return None
    data = parse_import(path.read_text(encoding="utf-8"), "yaml")
    report = import_kb(ctx, tenant_id, data, replace=True)
    rebuild(ctx, tenant_id)
    return report
