# CI stand-in for python:3.11-slim (no registry here): Debian's Python 3.11 in a virtualenv
# first on PATH, installing offline from a wheelhouse built on the host (scripts/docker.sh).
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN python3 -m venv /opt/python
COPY wheels/ /wheels/
ENV PATH=/opt/python/bin:$PATH \
    PIP_NO_INDEX=1 \
    PIP_FIND_LINKS=/wheels
