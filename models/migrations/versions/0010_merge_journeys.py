"""Merge the journeys' migrations, built in parallel from the initial schema, into one line.

Revision ID: 0010
Revises: 0002, 0004, 0006, 0007, 0008, 0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "0010"
down_revision: str | Sequence[str] | None = ("0002", "0004", "0006", "0007", "0008", "0009")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the merge only joins the branches."""


def downgrade() -> None:
    """Nothing to change: the merge only joins the branches."""
