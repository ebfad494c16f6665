from services.department_adapter.bootstrap import build
from shared.runtime import serve
from shared.settings import AdapterSettings

settings = AdapterSettings()  # type: ignore[call-arg]
serve(build(settings), settings)
