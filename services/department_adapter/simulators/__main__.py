import uvicorn

from shared.settings import SimulatorSettings
from services.department_adapter.simulators.department_system import build

settings = SimulatorSettings()  # type: ignore[call-arg]
uvicorn.run(build(settings), host=settings.host, port=settings.port, log_level="warning")
