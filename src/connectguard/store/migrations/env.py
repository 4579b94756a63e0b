"""Alembic's environment for the findings store.

connectguard runs these migrations itself when it opens a store (`store.db.open_store`), handing
over its open connection. A developer adding a migration runs Alembic by hand, e.g.
`alembic -x url=sqlite:///dev.sqlite3 revision --autogenerate -m "..."` with a config whose
`script_location` is this folder.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from connectguard.store.models import Base

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give the store URL: alembic -x url=URL ...")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        engine = create_engine(url)
        with engine.connect() as own:
            context.configure(connection=own, target_metadata=Base.metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
        engine.dispose()
