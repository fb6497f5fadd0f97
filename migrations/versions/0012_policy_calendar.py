"""Policy as data: platforms with reporting links that the hub admin adds,
edits and retires (seeded with current UK minimum ages).

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0008"
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


def downgrade() -> None:
    platforms = sa.table("platforms", sa.column("code", sa.String))
    op.execute(platforms.delete().where(platforms.c.code.in_(ADDED)))
    with op.batch_alter_table("platforms", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
        batch_op.drop_column("underage_reporting_url")
        batch_op.drop_column("reporting_url")
