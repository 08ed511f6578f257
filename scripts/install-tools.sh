#!/usr/bin/env bash
# Installs what riptide needs beside Go, idempotently:
#   - ffmpeg/ffprobe and yt-dlp from Debian packages (when missing),
#   - the Temporal CLI (dev server) and versitygw (S3 server), built from the
#     Go module proxy into a cache directory keyed by version, so only the
#     first run pays for the build (about 5-10 minutes on 2 cores).
# Versions and the cache directory come from the Makefile.
set -euo pipefail

: "${TEMPORAL_CLI_VERSION:?}" "${VERSITYGW_VERSION:?}" "${RIPTIDE_TEMPORAL_BIN:?}" "${RIPTIDE_VERSITYGW_BIN:?}"

missing=()
for bin in ffmpeg ffprobe yt-dlp; do
	command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "Installing Debian packages for: ${missing[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends ffmpeg yt-dlp >/dev/null
fi

build() { # name module version target
	local name=$1 module=$2 version=$3 target=$4
	if [ -x "$target" ]; then
		return
	fi
	echo "Building $name $version (first run only; cached in $(dirname "$target"))"
	local tmp
	tmp=$(mktemp -d "$(dirname "$target").tmp.XXXXXX")
	GOBIN="$tmp" GOFLAGS=-mod=mod go install "$module@$version"
	mkdir -p "$(dirname "$target")"
	mv "$tmp/$name" "$target"
	rmdir "$tmp"
}

mkdir -p "$(dirname "$(dirname "$RIPTIDE_TEMPORAL_BIN")")"
# The two builds are independent: run them side by side.
build temporal github.com/temporalio/cli/cmd/temporal "$TEMPORAL_CLI_VERSION" "$RIPTIDE_TEMPORAL_BIN" &
t=$!
build versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION" "$RIPTIDE_VERSITYGW_BIN" &
v=$!
wait $t
wait $v

# Test-only (make test-tools): the official Standard Webhooks library (npm),
# which the end-to-end tests use to verify riptide's webhook signatures
# independently. make dev does not need it.
if [ "${RIPTIDE_INSTALL_TEST_TOOLS:-}" = 1 ] && [ -n "${RIPTIDE_STANDARDWEBHOOKS_DIR:-}" ] && [ ! -f "$RIPTIDE_STANDARDWEBHOOKS_DIR/node_modules/standardwebhooks/package.json" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "Installing Debian packages for: nodejs npm"
		sudo=""
		[ "$(id -u)" -eq 0 ] || sudo="sudo"
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
	fi
	echo "Installing standardwebhooks ${STANDARDWEBHOOKS_VERSION} for the tests"
	mkdir -p "$RIPTIDE_STANDARDWEBHOOKS_DIR"
	(cd "$RIPTIDE_STANDARDWEBHOOKS_DIR" && npm install --no-audit --no-fund --ignore-scripts --silent "standardwebhooks@${STANDARDWEBHOOKS_VERSION}")
fi
