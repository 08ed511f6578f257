# syntax=docker/dockerfile:1
# riptide's worker and API in one image: `riptide-worker` (default) or
# `riptide-api`. Build: docker build -t riptide .
#
# Stage 1 builds static Go binaries; stage 2 is Debian slim with ffmpeg from
# Debian and a pinned, checksum-verified current yt-dlp release (Debian's is
# too old for most sites).

ARG GO_VERSION=1.26
ARG DEBIAN_RELEASE=bookworm

FROM golang:${GO_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/riptide-worker ./worker/cmd && \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/riptide-api ./api/cmd

FROM debian:${DEBIAN_RELEASE}-slim
# yt-dlp's self-contained Linux build; bump with the release's SHA2-256SUMS.
ARG YTDLP_VERSION=2025.10.22
RUN apt-get update && \
    apt-get install -y --no-install-recommends ffmpeg ca-certificates curl && \
    curl -fsSL -o /tmp/yt-dlp "https://github.com/yt-dlp/yt-dlp/releases/download/${YTDLP_VERSION}/yt-dlp_linux" && \
    curl -fsSL -o /tmp/SUMS "https://github.com/yt-dlp/yt-dlp/releases/download/${YTDLP_VERSION}/SHA2-256SUMS" && \
    (cd /tmp && grep ' yt-dlp_linux$' SUMS | sed 's/yt-dlp_linux$/yt-dlp/' | sha256sum -c -) && \
    install -m 0755 /tmp/yt-dlp /usr/local/bin/yt-dlp && \
    rm -f /tmp/yt-dlp /tmp/SUMS && \
    apt-get purge -y curl && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* && \
    useradd --system --uid 10001 --home-dir /var/lib/riptide --create-home riptide
COPY --from=build /out/riptide-worker /out/riptide-api /usr/local/bin/
USER riptide
WORKDIR /var/lib/riptide
# Work files live here; give each worker container its own volume.
VOLUME /var/lib/riptide
# The listeners bind 0.0.0.0 so that the container's ports can be
# published; the binaries' own defaults are loopback. /metrics has no API
# key: publish 9464/9465 only to the scraper's network (compose binds them
# to the host's loopback), or set RIPTIDE_METRICS_TOKEN so that every scrape
# needs "Authorization: Bearer <token>" (Prometheus: authorization.credentials).
ENV RIPTIDE_DATA_DIR=/var/lib/riptide \
    RIPTIDE_API_ADDR=0.0.0.0:8080 \
    RIPTIDE_API_METRICS_ADDR=0.0.0.0:9465 \
    RIPTIDE_WORKER_METRICS_ADDR=0.0.0.0:9464
EXPOSE 8080 9464 9465
# The worker stops polling on SIGTERM and gives running activities up to
# 30 s; give the container at least that (stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["riptide-worker"]
