import logging
from contextlib import contextmanager
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy.engine import Connection

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
# disable_existing_loggers=False: running migrations must not silence the app's loggers
# (fileConfig's default disables every logger that already exists).
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def get_engine():
    return current_app.extensions["migrate"].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
    except AttributeError:
        return str(get_engine().url).replace("%", "%%")


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option("sqlalchemy.url", get_engine_url())
target_db = current_app.extensions["migrate"].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=get_metadata(), literal_binds=True)

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    def run(connection):
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)

        with context.begin_transaction():
            context.run_migrations()

    # A caller may hand its own engine or connection (alembic's documented channel, which
    # pytest-alembic uses): migrate that database, not whatever the app is bound to. A
    # caller's connection is theirs, foreign key settings included.
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        run(given)
        return
    with (given or get_engine()).connect() as connection:
        if connection.dialect.name == "sqlite":
            with sqlite_foreign_keys_off(connection):
                run(connection)
        else:
            run(connection)


@contextmanager
def sqlite_foreign_keys_off(connection):
    """Batch mode alters a SQLite table by copying it, dropping the old one and renaming
    the copy. The app turns foreign keys on for every connection, and with them on that
    DROP cascades: adding the tax columns to ``orders`` deleted every order line. So the
    migrations run with them off (the children's keys name the table, which the copy
    takes over), a check afterwards fails loudly if a row lost its parent, and the
    connection goes back to the pool with them on, or not at all."""
    if not set_sqlite_foreign_keys(connection, on=False):  # a no-op inside a transaction
        raise RuntimeError("SQLite kept its foreign keys on: refusing to migrate (cascades)")
    try:
        yield
        orphans = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        connection.commit()
        if orphans:
            raise RuntimeError(f"rows whose parent row is gone after migrating: {orphans[:10]}")
    finally:
        if not set_sqlite_foreign_keys(connection, on=True):
            connection.invalidate()  # never hand the app a connection without foreign keys


def set_sqlite_foreign_keys(connection, *, on):
    """Set SQLite's foreign keys on or off; whether that took."""
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    now = bool(connection.exec_driver_sql("PRAGMA foreign_keys").scalar())
    connection.commit()
    return now == on


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
