#!/bin/sh
# Creates riptide's namespace (NAMESPACE, with NAMESPACE_RETENTION) and its
# custom Keyword search attributes (SEARCH_ATTRIBUTES, space-separated) on
# the server at TEMPORAL_ADDRESS, then waits until the frontend lists them
# all and the server accepts them: the worker refuses to start without them
# and a job using them before the server's caches know them is refused.
# What exists is left alone, so the job runs at every `docker compose up`.
set -eu

ns=${NAMESPACE:?NAMESPACE must name the namespace of riptide}
attrs=${SEARCH_ATTRIBUTES:?SEARCH_ATTRIBUTES must list the search attributes of riptide}
retention=${NAMESPACE_RETENTION:-720h}
tries=${SETUP_TRIES:-60}

# retry runs its arguments until they succeed, every 2 s, at most $tries times.
retry() {
	n=1
	until "$@"; do
		if [ "$n" -ge "$tries" ]; then
			echo "setup-riptide: gave up after $n tries: $*" >&2
			return 1
		fi
		n=$((n + 1))
		sleep 2
	done
}

ensure_namespace() {
	temporal operator namespace describe --namespace "$ns" >/dev/null 2>&1 ||
		temporal operator namespace create --namespace "$ns" --retention "$retention"
}

# listed succeeds when the namespace lists every name given.
listed() {
	list=$(temporal operator search-attribute list --namespace "$ns") || return 1
	for a in "$@"; do
		printf '%s\n' "$list" | grep -qw -- "$a" || return 1
	done
}

ensure_attribute() {
	listed "$1" ||
		temporal operator search-attribute create --namespace "$ns" --name "$1" --type Keyword
}

retry temporal operator cluster health
retry ensure_namespace
for a in $attrs; do
	retry ensure_attribute "$a"
done
# usable succeeds once a visibility query naming every attribute is
# accepted: the frontend's namespace cache knows them (listing them reads
# past that cache, so a job started right after could still be refused).
usable() {
	q=""
	for a in $attrs; do
		q="${q:+$q AND }$a = 'probe'"
	done
	temporal workflow list --namespace "$ns" --query "$q" --limit 1 >/dev/null
}

# shellcheck disable=SC2086 # one argument per attribute
retry listed $attrs
retry usable
# The history and matching roles refresh their namespace cache every 2 s
# (system.namespaceCacheRefreshInterval): give them two rounds.
sleep "${SETTLE_SECONDS:-5}"
echo "setup-riptide: namespace $ns has $attrs"
