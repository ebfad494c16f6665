from shared.runtime import serve
from shared.settings import AdapterSettings
from services.department_adapter.bootstrap import build

settings = AdapterSettings()  # type: ignore[call-arg]
serve(build(settings), settings)
