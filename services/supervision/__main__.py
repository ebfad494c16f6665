from services.supervision.bootstrap import build
from shared.runtime import serve
from shared.settings import SupervisionSettings

settings = SupervisionSettings()
serve(build(settings), settings)
