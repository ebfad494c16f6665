from services.department_adapter.bootstrap import build
from services.department_adapter.settings import AdapterSettings
from shared.runtime import serve

settings = AdapterSettings()
serve(build(settings), settings)
