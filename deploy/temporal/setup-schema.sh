#!/bin/sh
# Creates Temporal's two PostgreSQL databases and brings their schemas to the
# version this admin-tools image (the server's version) carries, with the
# schemas built into temporal-sql-tool. Every step is a no-op once done, so
# the job runs at every `docker compose up`: after an image upgrade it is
# the schema upgrade. Connection settings come from SQL_PLUGIN, SQL_HOST,
# SQL_PORT, SQL_USER and SQL_PASSWORD (temporal-sql-tool reads them).
# Never pass -q: it makes the tool exit 0 on errors.
set -eu

setup() {
	echo "setup-schema: database $1, schema $2"
	temporal-sql-tool --db "$1" create-database
	temporal-sql-tool --db "$1" setup-schema -v 0.0
	temporal-sql-tool --db "$1" update-schema --schema-name "$2"
}

setup "${DBNAME:-temporal}" postgresql/v12/temporal
setup "${VISIBILITY_DBNAME:-temporal_visibility}" postgresql/v12/visibility
echo "setup-schema: done"
