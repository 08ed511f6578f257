#!/usr/bin/env bash
# Installs what riptide needs beside Go, idempotently:
#   - ffmpeg/ffprobe and yt-dlp from Debian packages (when missing),
#   - the Temporal CLI (dev server) and versitygw (S3 server), built from the
#     Go module proxy into a cache directory keyed by version, so only the
#     first run pays for the build (about 5-10 minutes on 2 cores),
#   - for the tests only (RIPTIDE_INSTALL_TEST_TOOLS=1, make test-tools):
#     PostgreSQL from Debian, the Temporal server with temporal-sql-tool and
#     the Temporal Web UI server, built and cached the same way, which
#     make test-prod-temporal runs on.
# Versions and the cache directory come from the Makefile.
set -euo pipefail

: "${TEMPORAL_CLI_VERSION:?}" "${VERSITYGW_VERSION:?}" "${RIPTIDE_TEMPORAL_BIN:?}" "${RIPTIDE_VERSITYGW_BIN:?}"

# apt_install installs Debian packages (as root, or through sudo).
apt_install() {
	echo "Installing Debian packages: $*"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
for bin in ffmpeg ffprobe yt-dlp; do
	command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt_install ffmpeg yt-dlp
fi

# yt-dlp currency. Only Debian's package can be installed here; riptide runs
# it (2023.03.04 on bookworm) because its defences make it safe: the worker
# refuses non-HTTP URLs in the info JSON and confines yt-dlp to a network
# namespace whose only way out is the guarded proxy (RIPTIDE_SANDBOX). A
# current release is still better (extractors age fast; older ones only
# proxy http(s)). Opt in with RIPTIDE_YTDLP_RELEASE=<version> (for example
# 2025.10.22) on a machine that can reach yt-dlp's releases: the official
# self-contained binary is fetched, checked against the release's
# SHA2-256SUMS as the Dockerfile does, and cached beside the other tools;
# point RIPTIDE_YTDLP_PATH at it.
ytdlp_known_good=2023.11.14 # keep in step with internal/ytdlp/version.go
ytdlp_min=2023.03.04
if [ -n "${RIPTIDE_YTDLP_RELEASE:-}" ]; then
	dest="$(dirname "$(dirname "$RIPTIDE_TEMPORAL_BIN")")/yt-dlp-${RIPTIDE_YTDLP_RELEASE}/yt-dlp"
	if [ ! -x "$dest" ]; then
		base="https://github.com/yt-dlp/yt-dlp/releases/download/${RIPTIDE_YTDLP_RELEASE}"
		tmp=$(mktemp -d)
		if curl -fsSL -o "$tmp/yt-dlp" "$base/yt-dlp_linux" && curl -fsSL -o "$tmp/SUMS" "$base/SHA2-256SUMS" &&
			(cd "$tmp" && grep ' yt-dlp_linux$' SUMS | sed 's/yt-dlp_linux$/yt-dlp/' | sha256sum -c - >/dev/null); then
			mkdir -p "$(dirname "$dest")"
			install -m 0755 "$tmp/yt-dlp" "$dest"
			echo "Installed yt-dlp ${RIPTIDE_YTDLP_RELEASE} at $dest: set RIPTIDE_YTDLP_PATH=$dest"
		else
			echo "WARNING: could not fetch and verify yt-dlp ${RIPTIDE_YTDLP_RELEASE}; keeping the distribution's" >&2
		fi
		rm -rf "$tmp"
	fi
fi
ytdlp_version=$(yt-dlp --version 2>/dev/null | head -n1 || true)
older() { # is version $1 older than $2 (YYYY.MM.DD, perhaps with a suffix)?
	[ "$(printf '%s\n%s\n' "${1:0:10}" "${2:0:10}" | sort -V | head -n1)" = "${1:0:10}" ] && [ "${1:0:10}" != "${2:0:10}" ]
}
if [ -z "$ytdlp_version" ]; then
	echo "WARNING: yt-dlp does not run; jobs that need it will fail" >&2
elif older "$ytdlp_version" "$ytdlp_min"; then
	echo "ERROR: yt-dlp $ytdlp_version is older than $ytdlp_min: riptide's worker refuses to start with it." >&2
	echo "       Install a current release (see README, yt-dlp) and set RIPTIDE_YTDLP_PATH." >&2
elif older "$ytdlp_version" "$ytdlp_known_good"; then
	cat >&2 <<EOF2
################################################################################
WARNING: yt-dlp $ytdlp_version (from the distribution) is older than $ytdlp_known_good.
  It sends only http(s) through riptide's guarded proxy. riptide still runs it,
  because the worker refuses non-HTTP URLs in its info JSON and confines it to
  a network namespace that reaches only the proxy (RIPTIDE_SANDBOX=auto); where
  namespaces are unavailable the worker refuses to start with it.
  For production install a current release: the official yt-dlp_linux binary,
  checksum-verified (as the Dockerfile does), or RIPTIDE_YTDLP_RELEASE=<version>
  here on a machine that can reach yt-dlp's releases.
################################################################################
EOF2
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

# build_temporal_server: the multi-service server and its schema tool, from
# one module in one go install (stripped: 149 + 40 MB instead of about
# twice that), named as the Makefile expects.
build_temporal_server() {
	local dir
	dir=$(dirname "$RIPTIDE_TEMPORAL_SERVER_BIN")
	if [ -x "$RIPTIDE_TEMPORAL_SERVER_BIN" ] && [ -x "$RIPTIDE_TEMPORAL_SQL_TOOL_BIN" ]; then
		return
	fi
	echo "Building the Temporal server $TEMPORAL_SERVER_VERSION and temporal-sql-tool (first run only, about 10 minutes; cached in $dir)"
	local tmp start
	start=$(date +%s)
	mkdir -p "$(dirname "$dir")"
	tmp=$(mktemp -d "$dir.tmp.XXXXXX")
	GOBIN="$tmp" GOFLAGS=-mod=mod go install -ldflags='-s -w' \
		"go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" \
		"go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION"
	mkdir -p "$(dirname "$RIPTIDE_TEMPORAL_SQL_TOOL_BIN")" "$dir"
	mv "$tmp/sql" "$RIPTIDE_TEMPORAL_SQL_TOOL_BIN"
	mv "$tmp/server" "$RIPTIDE_TEMPORAL_SERVER_BIN"
	rmdir "$tmp"
	echo "Built the Temporal server in $(($(date +%s) - start))s"
}

# build_temporal_ui: the Web UI server, which embeds the built UI (v2.56 and
# later need a newer Go).
build_temporal_ui() {
	local dir tmp
	dir=$(dirname "$RIPTIDE_TEMPORAL_UI_BIN")
	if [ -x "$RIPTIDE_TEMPORAL_UI_BIN" ]; then
		return
	fi
	echo "Building the Temporal Web UI server $TEMPORAL_UI_VERSION (first run only; cached in $dir)"
	mkdir -p "$(dirname "$dir")"
	tmp=$(mktemp -d "$dir.tmp.XXXXXX")
	GOBIN="$tmp" GOFLAGS=-mod=mod go install -ldflags='-s -w' "github.com/temporalio/ui-server/v2/cmd/server@$TEMPORAL_UI_VERSION"
	mkdir -p "$dir"
	mv "$tmp/server" "$RIPTIDE_TEMPORAL_UI_BIN"
	rmdir "$tmp"
}

test_tools=""
if [ "${RIPTIDE_INSTALL_TEST_TOOLS:-}" = 1 ] && [ -n "${RIPTIDE_TEMPORAL_SERVER_BIN:-}" ]; then
	test_tools=1
	: "${TEMPORAL_SERVER_VERSION:?}" "${RIPTIDE_TEMPORAL_SQL_TOOL_BIN:?}" "${TEMPORAL_UI_VERSION:?}" "${RIPTIDE_TEMPORAL_UI_BIN:?}"
	# PostgreSQL for the production-shaped Temporal server. Debian keeps
	# initdb and postgres in /usr/lib/postgresql/<major>/bin.
	if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
		apt_install postgresql
	fi
fi

mkdir -p "$(dirname "$(dirname "$RIPTIDE_TEMPORAL_BIN")")"
# The builds are independent: run them side by side.
build temporal github.com/temporalio/cli/cmd/temporal "$TEMPORAL_CLI_VERSION" "$RIPTIDE_TEMPORAL_BIN" &
t=$!
build versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION" "$RIPTIDE_VERSITYGW_BIN" &
v=$!
s=""
if [ -n "$test_tools" ]; then
	(build_temporal_server && build_temporal_ui) &
	s=$!
fi
g=""
if [ "${RIPTIDE_INSTALL_TEST_TOOLS:-}" = 1 ] && [ -n "${RIPTIDE_FAKE_GCS_BIN:-}" ]; then
	# The GCS emulator the storage-provider tests run on.
	build fake-gcs-server github.com/fsouza/fake-gcs-server "$FAKE_GCS_VERSION" "$RIPTIDE_FAKE_GCS_BIN" &
	g=$!
fi
wait $t
wait $v
[ -z "$s" ] || wait $s
[ -z "$g" ] || wait $g

# Test-only (make test-tools): the official Standard Webhooks library (npm),
# which the end-to-end tests use to verify riptide's webhook signatures
# independently. make dev does not need it.
if [ "${RIPTIDE_INSTALL_TEST_TOOLS:-}" = 1 ] && [ -n "${RIPTIDE_STANDARDWEBHOOKS_DIR:-}" ] && [ ! -f "$RIPTIDE_STANDARDWEBHOOKS_DIR/node_modules/standardwebhooks/package.json" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		apt_install nodejs npm
	fi
	echo "Installing standardwebhooks ${STANDARDWEBHOOKS_VERSION} for the tests"
	mkdir -p "$RIPTIDE_STANDARDWEBHOOKS_DIR"
	(cd "$RIPTIDE_STANDARDWEBHOOKS_DIR" && npm install --no-audit --no-fund --ignore-scripts --silent "standardwebhooks@${STANDARDWEBHOOKS_VERSION}")
fi

# Test-only (make test-tools): Debian's chromium and playwright-core (npm ci
# from the committed lockfile, no browser download), for the web
# dashboard's browser test.
if [ "${RIPTIDE_INSTALL_TEST_TOOLS:-}" = 1 ] && [ -n "${RIPTIDE_PLAYWRIGHT_DIR:-}" ]; then
	if [ ! -x /usr/bin/chromium ] || ! command -v npm >/dev/null 2>&1; then
		apt_install chromium nodejs npm
	fi
	if [ ! -f "$RIPTIDE_PLAYWRIGHT_DIR/node_modules/playwright-core/package.json" ]; then
		echo "Installing playwright-core for the browser tests"
		tmp="$RIPTIDE_PLAYWRIGHT_DIR.tmp"
		rm -rf "$tmp" && mkdir -p "$tmp"
		cp "$(dirname "$RIPTIDE_UI_E2E_LOCK")/package.json" "$RIPTIDE_UI_E2E_LOCK" "$tmp/"
		(cd "$tmp" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts --silent)
		rm -rf "$RIPTIDE_PLAYWRIGHT_DIR" && mv "$tmp" "$RIPTIDE_PLAYWRIGHT_DIR"
	fi
fi

# Test-only: Azurite, Azure's official Blob emulator (npm), pinned and cached
# by version like the other tools; the e2e harness runs its azurite-blob.
if [ "${RIPTIDE_INSTALL_TEST_TOOLS:-}" = 1 ] && [ -n "${RIPTIDE_AZURITE_BIN:-}" ] && [ ! -x "$RIPTIDE_AZURITE_BIN" ]; then
	: "${AZURITE_VERSION:?}"
	if ! command -v npm >/dev/null 2>&1; then
		apt_install nodejs npm
	fi
	echo "Installing azurite ${AZURITE_VERSION} for the tests"
	dir=$(dirname "$(dirname "$(dirname "$RIPTIDE_AZURITE_BIN")")")
	mkdir -p "$dir"
	(cd "$dir" && npm install --no-audit --no-fund --silent "azurite@${AZURITE_VERSION}")
fi
