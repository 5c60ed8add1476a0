-- Parley's databases on the compose MySQL. The mysql image runs docker-entrypoint-initdb.d/ in
-- name order, once, when its data volume is empty; 02-users.sh then creates one user per
-- database with a password from the environment (SQL files cannot read it).
--
-- utf8mb4_unicode_ci, like the databases the test suite creates (tests/support/mysql.py), so
-- that compose, the suite and production compare strings alike.

CREATE DATABASE IF NOT EXISTS auth_db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS chat_db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
-- For docker/compose.test.yaml; the suite also creates parley_test_<name> databases itself.
CREATE DATABASE IF NOT EXISTS parley_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
