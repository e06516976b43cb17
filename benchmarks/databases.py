#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Throw-away databases for the benchmarks: a SQLite file, a PostgreSQL
database made and dropped around the run, and vmstate's facade on it."""

import contextlib
import os
import shutil
import tempfile
import uuid as uuidlib

import sqlalchemy as sa

from vmstate.db import connections
from vmstate.db import migration

POSTGRESQL_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def sqlite_database():
    directory = tempfile.mkdtemp(prefix="vmstate-bench-")
    try:
        yield "sqlite:///" + os.path.join(directory, "bench.sqlite")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def postgresql_database(admin_url=POSTGRESQL_ADMIN):
    name = "vmstate_bench_%s" % uuidlib.uuid4().hex[:8]
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("CREATE DATABASE %s" % name)
    try:
        yield admin.url.set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql("DROP DATABASE IF EXISTS %s WITH (FORCE)"
                                 % name)
        admin.dispose()


@contextlib.contextmanager
def vmstate_on(url):
    """vmstate.db on ``url``, migrated to head; yields the engine."""
    facade = connections.main.make_new_manager()
    facade.configure(connection=url)
    reset = connections.main.patch_factory(facade)
    try:
        engine = facade.writer.get_engine()
        migration.upgrade(engine=engine)
        yield engine
    finally:
        reset()
        facade.dispose_pool()
