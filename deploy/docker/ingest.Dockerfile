# syntax=docker/dockerfile:1
# One ingestion service (surveys, tickets, reviews or social). Web and Kafka only: no torch,
# no transformers, no database driver. Build from the repository root:
#   docker build -f deploy/docker/ingest.Dockerfile --build-arg SERVICE=surveys -t voc/surveys .
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY deploy/docker/requirements-ingest.txt /tmp/requirements.txt
# Every package is pinned, dependencies included; `pip check` fails the build if one is missing.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-deps -r /tmp/requirements.txt \
 && /opt/venv/bin/pip check

FROM ${PYTHON_IMAGE}
ARG SERVICE
RUN case "$SERVICE" in surveys|tickets|reviews|social) ;; \
      *) echo "SERVICE must be surveys, tickets, reviews or social, not '$SERVICE'" >&2; exit 1 ;; \
    esac \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin voc
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 VOC_SERVICE_MODULE=services.${SERVICE}
WORKDIR /app
COPY --from=deps /opt/venv /opt/venv
# Only shared/ and this one service: a service never imports another.
COPY shared/ shared/
COPY services/__init__.py services/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN python -m compileall -q shared services
USER 10001:10001
# exec: python is PID 1 and gets SIGTERM, so uvicorn drains and the producer flushes.
CMD ["sh", "-c", "exec python -m \"$VOC_SERVICE_MODULE\""]
