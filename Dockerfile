# The Python side of docker-compose.yml: gowork-compat with its web extra, and the example
# worker app and enqueuer loop of compose_app/. The Go worker's image is Dockerfile.harness.
#
#   docker build -t gowork-compat:compose .
#   docker run --rm -e REDIS_URL=redis://host.docker.internal:6379/0 gowork-compat:compose gowork -n my-app inspect

# The base image is a build ARG; without a registry, scripts/docker.sh passes a local stand-in.
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY gowork_compat/ gowork_compat/
# the package data gowork_compat/spec/ and testing/go_harness/ link to (symlinks in the source tree)
COPY spec/*.json spec/
COPY go-harness/*.go go-harness/go.mod go-harness/go.sum go-harness/
RUN pip install ".[web]" && rm -rf /src

# `gowork worker compose_app.worker_app:pool` imports from the working directory
WORKDIR /app
COPY compose_app/ compose_app/
RUN useradd --create-home --uid 10001 gowork
USER gowork

EXPOSE 5040
CMD ["gowork", "--help"]
