from services.intake.bootstrap import build
from shared.runtime import serve
from shared.settings import IntakeSettings

settings = IntakeSettings()
serve(build(settings), settings)
