from shared.runtime import serve
from shared.settings import IntakeSettings
from services.intake.bootstrap import build

settings = IntakeSettings()
serve(build(settings), settings)
