from services.hibah_bansos.models import Base
from shared.migrations import run_env

run_env(Base.metadata)
