from services.supervision.bootstrap import build
from services.supervision.settings import SupervisionSettings
from shared.runtime import serve

settings = SupervisionSettings()
serve(build(settings), settings)
