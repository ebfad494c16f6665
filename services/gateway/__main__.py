from services.gateway.bootstrap import build
from shared.runtime import serve
from shared.settings import GatewaySettings

settings = GatewaySettings()
serve(build(settings), settings)
