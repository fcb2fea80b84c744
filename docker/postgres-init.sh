#!/bin/sh
# Runs once, when the Postgres volume is first initialised (docker-entrypoint-initdb.d): the user the API and the
# workers connect as. It owns nothing; simsift's migrations (as the owner, DATABASE_OWNER_URL) grant it reads and
# writes on the tables, so it can neither alter tables or triggers nor rewrite the audit log.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v app_password="$SIMSIFT_APP_PASSWORD" <<'SQL'
CREATE ROLE simsift_app LOGIN PASSWORD :'app_password';
SQL
