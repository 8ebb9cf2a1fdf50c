# syntax=docker/dockerfile:1
# The api or the metrics service (the metrics image also runs the migrations and the topic
# bootstrap in docker-compose.yml). PostgreSQL and Kafka clients; no torch, no transformers.
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=api -t voc/api .
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY deploy/docker/requirements-service.txt /tmp/requirements.txt
# Every package is pinned, dependencies included; `pip check` fails the build if one is missing.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-deps -r /tmp/requirements.txt \
 && /opt/venv/bin/pip check

FROM ${PYTHON_IMAGE}
ARG SERVICE
RUN case "$SERVICE" in api|metrics) ;; \
      *) echo "SERVICE must be api or metrics, not '$SERVICE'" >&2; exit 1 ;; \
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
# exec: python is PID 1 and gets SIGTERM, so the consumer finishes its batch and commits.
CMD ["sh", "-c", "exec python -m \"$VOC_SERVICE_MODULE\""]
