from services.gateway.bootstrap import build
from services.gateway.settings import GatewaySettings
from shared.runtime import serve

settings = GatewaySettings()
serve(build(settings), settings)
