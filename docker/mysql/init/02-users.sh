# shellcheck shell=bash disable=SC2154
# One MySQL user per database, with passwords from the environment (docker/compose.yaml passes
# PARLEY_*_DB_PASSWORD; their defaults are for development only, see docs/deploy.md).
#
# Not executable on purpose: the mysql image *sources* non-executable .sh files, so this script can
# use the entrypoint's docker_process_sql (root over the local socket) and mysql_error. It runs
# once, on an empty data volume: changing a password later means ALTER USER, or a new volume.
#
# auth and chat get everything on their own database only (their migrations create tables); the
# test user may create and drop any parley_test* database, as the suite does. In GRANT, `_` is a
# wildcard: escaped for exact names, left as is in the test pattern.

for var in PARLEY_AUTH_DB_PASSWORD PARLEY_CHAT_DB_PASSWORD PARLEY_TEST_DB_PASSWORD; do
	value="${!var:-}"
	if [ -z "$value" ]; then
		mysql_error "$var is not set; docker/compose.yaml passes it to the mysql service"
	fi
	# The password goes into a quoted SQL string and a database URL: keep it to URL-safe
	# characters (openssl rand -hex 24 makes one).
	case "$value" in
		*[!A-Za-z0-9._~-]*) mysql_error "$var may only hold letters, digits and . _ ~ -" ;;
	esac
done

docker_process_sql --database=mysql <<-EOSQL
	CREATE USER 'auth'@'%' IDENTIFIED BY '${PARLEY_AUTH_DB_PASSWORD}';
	GRANT ALL PRIVILEGES ON \`auth\\_db\`.* TO 'auth'@'%';
	CREATE USER 'chat'@'%' IDENTIFIED BY '${PARLEY_CHAT_DB_PASSWORD}';
	GRANT ALL PRIVILEGES ON \`chat\\_db\`.* TO 'chat'@'%';
	CREATE USER 'test'@'%' IDENTIFIED BY '${PARLEY_TEST_DB_PASSWORD}';
	GRANT ALL PRIVILEGES ON \`parley\\_test%\`.* TO 'test'@'%';
EOSQL
