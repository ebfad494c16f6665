from shared.runtime import serve
from shared.settings import GatewaySettings
from services.gateway.bootstrap import build

settings = GatewaySettings()
serve(build(settings), settings)
