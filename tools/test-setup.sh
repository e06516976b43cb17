#!/bin/bash -xe
# Create the databases and users vmstate's opportunistic database tests
# use (the OpenStack convention: oslo.db's tests connect as
# openstack_citest, password openstack_citest, database openstack_citest,
# on 127.0.0.1), on a local PostgreSQL and MariaDB/MySQL. Run it as root
# (or a user who may administer both) before the tests:
#
#     sudo tools/test-setup.sh
#
# Idempotent: users and databases that exist are left as they are. A
# server that is not installed is skipped with a message; one that is
# installed but refuses is an error. Set DB_ROOT_PW when MariaDB's root
# has a password (the default assumes socket or empty-password access).

DB_ROOT_PW=${DB_ROOT_PW:-}
DB_USER=openstack_citest
DB_PW=openstack_citest

# -- MariaDB / MySQL --------------------------------------------------------
if command -v mysql >/dev/null; then
    if [ -n "$DB_ROOT_PW" ]; then
        MYSQL_ROOT=(mysql -uroot -p"$DB_ROOT_PW" -h 127.0.0.1)
    else
        MYSQL_ROOT=(mysql -uroot -h 127.0.0.1)
    fi
    "${MYSQL_ROOT[@]}" <<SQL
CREATE USER IF NOT EXISTS '$DB_USER'@'%' IDENTIFIED BY '$DB_PW';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PW';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS $DB_USER;
FLUSH PRIVILEGES;
SQL
else
    echo "test-setup: mysql not installed; MariaDB tests will skip" >&2
fi

# -- PostgreSQL -------------------------------------------------------------
if command -v psql >/dev/null; then
    if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1 \
            && ! psql -h 127.0.0.1 -U postgres -c 'SELECT 1' >/dev/null 2>&1
    then
        PSQL_ROOT=(su postgres -c "psql -v ON_ERROR_STOP=1 -q")
    else
        PSQL_ROOT=(psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -q)
    fi
    "${PSQL_ROOT[@]}" <<SQL
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER WITH LOGIN SUPERUSER PASSWORD '$DB_PW';
  END IF;
END\$\$;
SELECT 'CREATE DATABASE $DB_USER OWNER $DB_USER'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_USER')\gexec
SQL
else
    echo "test-setup: psql not installed; PostgreSQL tests will skip" >&2
fi
