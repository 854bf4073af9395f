"""Drafts and proposals in both state languages: the second text beside the original.

Revision ID: bilingual_01
Revises: merge_04
"""

import sqlalchemy as sa
from alembic import op

revision = "bilingual_01"
down_revision = "merge_04"
branch_labels = None
depends_on = None

# table -> [(column, type)]; all nullable, so existing rows keep reading their original text.
COLUMNS = {
    "draft": [
        ("text_language", sa.String(length=2)),
        ("second_language", sa.String(length=2)),
        ("preamble_kk", sa.Text()),
        ("preamble_ru", sa.Text()),
    ],
    "draft_article": [
        ("title_kk", sa.String(length=500)),
        ("title_ru", sa.String(length=500)),
        ("chapter_kk", sa.String(length=300)),
        ("chapter_ru", sa.String(length=300)),
        ("text_kk", sa.Text()),
        ("text_ru", sa.Text()),
    ],
    "draft_paragraph": [("text_kk", sa.Text()), ("text_ru", sa.Text())],
    "comment": [("text_language", sa.String(length=2))],
    "budget_proposal": [
        ("title_kk", sa.String(length=200)),
        ("title_ru", sa.String(length=200)),
        ("description_html_kk", sa.Text()),
        ("description_html_ru", sa.Text()),
    ],
}


def upgrade():
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, type_ in columns:
                batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade():
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not a batch: a batch rebuilds the
    # table, which drops its triggers (comment counters, frozen proposals) and fails on
    # budget_proposal while ballots reference it.
    for table, columns in reversed(COLUMNS.items()):
        for name, _type in reversed(columns):
            op.drop_column(table, name)
