# CI stand-in for golang:*-bookworm (no registry here): the host's Go toolchain and the
# harness's modules (scripts/docker.sh copies them into the context), offline, with the
# build cache warmed by one build of the harness.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY go/ /usr/local/go/
COPY gomodcache/ /go/pkg/mod/
ENV PATH=/usr/local/go/bin:/go/bin:$PATH \
    GOPATH=/go \
    GOPROXY=off \
    GOTOOLCHAIN=local \
    GOFLAGS=-modcacherw
COPY warm/ /warm/
RUN cd /warm && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -o /dev/null . && rm -rf /warm
