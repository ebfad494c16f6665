from services.department_adapter.bootstrap import build
from shared.runtime import serve
from shared.settings import AdapterSettings

settings = AdapterSettings()
serve(build(settings), settings)
