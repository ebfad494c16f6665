import uvicorn

from services.department_adapter.simulators.department_system import build
from shared.settings import SimulatorSettings

settings = SimulatorSettings()  # type: ignore[call-arg]
uvicorn.run(build(settings), host=settings.host, port=settings.port, log_level="warning")
