"""Policy as data: platforms with reporting links that the hub admin adds,
edits and retires (seeded with current UK minimum ages); each school's nation
and each cluster's terms and INSET days, for deadlines in school days;
retention periods per category (a cluster's one period, where it chose one,
becomes its period for every category) and legal holds on alerts.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Minimum ages as the platforms' UK terms state them in December 2026 (WhatsApp
# lowered its UK and EU minimum from 16 to 13 on 11 April 2024; Telegram's
# terms ask 16 of UK users; Roblox sets no minimum age). Reporting links are
# the platforms' own help pages; "" where none is recorded: the hub admin adds it.
PLATFORMS = [
    (
        "facebook",
        "Facebook",
        13,
        1,
        "https://www.facebook.com/help/1380418588640631",
        "https://www.facebook.com/help/contact/209046679279097",
    ),
    ("whatsapp", "WhatsApp", 13, 2, "https://faq.whatsapp.com/", ""),
    (
        "instagram",
        "Instagram",
        13,
        3,
        "https://help.instagram.com/",
        "https://help.instagram.com/517920941588885",
    ),
    (
        "tiktok",
        "TikTok",
        13,
        4,
        "https://support.tiktok.com/en/safety-hc/report-a-problem",
        "https://support.tiktok.com/en/safety-hc/report-a-problem/report-underage-accounts-on-tiktok",
    ),
    ("snapchat", "Snapchat", 13, 5, "https://help.snapchat.com/", ""),
    ("x", "X (Twitter)", 13, 6, "https://help.x.com/en/forms", ""),
    ("youtube", "YouTube", 13, 7, "https://support.google.com/youtube/answer/2802027", ""),
    ("roblox", "Roblox", 0, 8, "https://en.help.roblox.com/hc/en-us/articles/203312410", ""),
    ("discord", "Discord", 13, 9, "https://dis.gd/request", "https://dis.gd/request"),
    ("telegram", "Telegram", 16, 10, "https://telegram.org/faq", ""),
    ("threads", "Threads", 13, 11, "https://help.instagram.com/", ""),
]
ADDED = ("roblox", "discord", "telegram", "threads")
NATION_CHECK = "nation IN ('england_wales', 'scotland', 'northern_ireland')"
CATEGORIES = (
    "defamation",
    "staff_named",
    "harassment",
    "safeguarding",
    "under_age",
    "staff_conduct",
    "other",
)


def upgrade() -> None:
    with op.batch_alter_table("platforms", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reporting_url", sa.String(length=2000), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "underage_reporting_url", sa.String(length=2000), server_default="", nullable=False
            )
        )
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))

    platforms = sa.table(
        "platforms",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("minimum_age", sa.Integer),
        sa.column("position", sa.Integer),
        sa.column("reporting_url", sa.String),
        sa.column("underage_reporting_url", sa.String),
    )
    for code, name, age, position, reporting, underage in PLATFORMS:
        values = {
            "name": name,
            "minimum_age": age,
            "position": position,
            "reporting_url": reporting,
            "underage_reporting_url": underage,
        }
        if code in ADDED:
            op.bulk_insert(platforms, [{"code": code, **values}])
        else:
            op.execute(platforms.update().where(platforms.c.code == code).values(**values))

    # In place on both databases: rebuilding `schools` or `clusters` (Alembic's
    # batch mode on SQLite) would drop a table other rows refer to, which
    # SQLite's enforced foreign keys refuse or cascade. SQLite adds a column
    # with its CHECK and drops one (3.35+) without a rebuild.
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute(
            "ALTER TABLE schools ADD COLUMN nation VARCHAR(24) DEFAULT 'england_wales' NOT NULL "
            f"CONSTRAINT ck_schools_nation CHECK ({NATION_CHECK})"
        )
    else:
        op.add_column(
            "schools",
            sa.Column(
                "nation", sa.String(length=24), server_default="england_wales", nullable=False
            ),
        )
        op.create_check_constraint(op.f("ck_schools_nation"), "schools", NATION_CHECK)
    op.create_table(
        "calendar_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cluster_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "ends_on >= starts_on", name=op.f("ck_calendar_entries_ends_after_start")
        ),
        sa.CheckConstraint("kind IN ('term', 'inset')", name=op.f("ck_calendar_entries_kind")),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_calendar_entries_cluster_id_clusters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_entries")),
    )
    op.create_index(
        "ix_calendar_entries_cluster", "calendar_entries", ["cluster_id", "starts_on"], unique=False
    )

    op.create_table(
        "retention_periods",
        sa.Column("cluster_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_retention_periods_cluster_id_clusters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cluster_id", "category", name=op.f("pk_retention_periods")),
    )
    # A cluster that chose its one period keeps it, now for every category.
    for category in CATEGORIES:
        op.execute(
            sa.text(
                "INSERT INTO retention_periods (cluster_id, category, days) "
                "SELECT id, :category, retention_days FROM clusters WHERE retention_days <> 365"
            ).bindparams(category=category)
        )
    if sqlite:
        op.execute("ALTER TABLE clusters DROP COLUMN retention_days")
    else:
        op.drop_column("clusters", "retention_days")

    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("placed_by_id", sa.Uuid(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_legal_holds_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["placed_by_id"], ["members.id"], name=op.f("fk_legal_holds_placed_by_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["released_by_id"], ["members.id"], name=op.f("fk_legal_holds_released_by_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_index(
        "ix_legal_holds_alert", "legal_holds", ["alert_id", "released_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_legal_holds_alert", table_name="legal_holds")
    op.drop_table("legal_holds")
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "clusters", sa.Column("retention_days", sa.Integer(), server_default="365", nullable=False)
    )
    op.drop_table("retention_periods")
    op.drop_index("ix_calendar_entries_cluster", table_name="calendar_entries")
    op.drop_table("calendar_entries")
    if sqlite:
        op.execute("ALTER TABLE schools DROP COLUMN nation")
    else:
        op.drop_constraint(op.f("ck_schools_nation"), "schools", type_="check")
        op.drop_column("schools", "nation")
    platforms = sa.table("platforms", sa.column("code", sa.String))
    op.execute(platforms.delete().where(platforms.c.code.in_(ADDED)))
    with op.batch_alter_table("platforms", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
        batch_op.drop_column("underage_reporting_url")
        batch_op.drop_column("reporting_url")
