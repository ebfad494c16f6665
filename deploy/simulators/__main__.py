import uvicorn

from deploy.simulators.department_system import SimulatorSettings, build

settings = SimulatorSettings()
uvicorn.run(build(settings), host=settings.host, port=settings.port, log_level="warning")
