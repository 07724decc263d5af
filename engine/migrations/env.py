"""Alembic environment: always run on the connection engine/store.py hands in,
so migrations use the same pragmas and write transaction as every command."""
from alembic import context

from aidcal.engine.models import SQLModel

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
context.run_migrations()
