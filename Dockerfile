# One image for every Lianban process; docker-compose.yml picks the module to run.

# The operators' console, built with npm (ECharts, esbuild) as `make console` builds it.
FROM node:22-slim AS console
WORKDIR /console
COPY services/supervision/console/package.json services/supervision/console/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY services/supervision/console ./
RUN npm run --silent build

FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY deploy ./deploy
COPY --from=console /console/dist ./services/supervision/console/dist
# The mount points of docker-compose.yml's volumes, the process's own: a new volume takes their owner.
RUN pip install . && mkdir -p /data /var/lib/lianban/issuer /var/lib/lianban/keys /var/lib/lianban/ferry /var/lib/lianban/materials \
    && chown -R nobody /data /var/lib/lianban
USER nobody
CMD ["python", "-m", "services.intake"]
