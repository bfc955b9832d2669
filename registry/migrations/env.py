"""Alembic environment: migrate the engine handed over by registry.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from registry import models, summaries  # noqa: F401  (registers the tables on Base.metadata)
from registry.db import Base

config = context.config
engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url") or "")

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        # A migration may build an index over millions of rows: the web's statement timeout is not for it.
        connection.execute(text("SET statement_timeout = 0"))
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
