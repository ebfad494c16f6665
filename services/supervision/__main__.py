from shared.runtime import serve
from shared.settings import SupervisionSettings
from services.supervision.bootstrap import build

settings = SupervisionSettings()
serve(build(settings), settings)
