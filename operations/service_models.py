"""Each service's models module by service name: operator code works on every database."""

from __future__ import annotations

from types import ModuleType

from services.audit import models as audit_models
from services.hibah_bansos import models as hibah_bansos_models
from services.whistleblowing import models as whistleblowing_models

MODELS: dict[str, ModuleType] = {
    "whistleblowing": whistleblowing_models,
    "hibah_bansos": hibah_bansos_models,
    "audit": audit_models,
}


def models_of(service: str) -> ModuleType:
    return MODELS[service]
