from services.intake.bootstrap import build
from services.intake.settings import IntakeSettings
from shared.runtime import serve

settings = IntakeSettings()
serve(build(settings), settings)
