# The Python side of docker-compose.yml: gowork-compat with its web extra, and the example
# worker app and enqueuer loop of docker/. The Go worker's image is Dockerfile.harness.
#
#   docker build -t gowork-compat:compose .
#   docker run --rm -e REDIS_URL=redis://host.docker.internal:6379/0 gowork-compat:compose gowork -n my-app inspect

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY gowork_compat/ gowork_compat/
RUN pip install ".[web]" && rm -rf /src

# `gowork worker docker.worker_app:pool` imports from the working directory
WORKDIR /app
COPY docker/ docker/
RUN useradd --create-home --uid 10001 gowork
USER gowork

EXPOSE 5040
CMD ["gowork", "--help"]
