"""Notifications: subscriptions, the outbox, watches, acknowledgement deadlines
and the record of which overdue acknowledgements were chased.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ack_deadlines",
        sa.Column("cluster_id", sa.Uuid(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.CheckConstraint("unit IN ('hours', 'school_days')", name=op.f("ck_ack_deadlines_unit")),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_ack_deadlines_cluster_id_clusters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cluster_id", "severity", name=op.f("pk_ack_deadlines")),
    )
    op.create_table(
        "notification_defaults",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_notification_defaults_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_notification_defaults")),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("sender_school_ids", sa.JSON(), nullable=False),
        sa.Column("min_severity", sa.String(length=16), nullable=False),
        sa.Column("timing", sa.String(length=16), nullable=False),
        sa.Column("digest_time", sa.Time(), nullable=True),
        sa.Column("secret", sa.LargeBinary(), nullable=True),
        sa.Column("previous_secret", sa.LargeBinary(), nullable=True),
        sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel <> 'in_app' OR owner_id IS NOT NULL",
            name=op.f("ck_subscriptions_in_app_is_personal"),
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'webhook', 'in_app')", name=op.f("ck_subscriptions_channel")
        ),
        sa.CheckConstraint(
            "timing IN ('immediate', 'digest')", name=op.f("ck_subscriptions_timing")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["members.id"],
            name=op.f("fk_subscriptions_created_by_id_members"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["members.id"],
            name=op.f("fk_subscriptions_owner_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_subscriptions_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    op.create_index(op.f("ix_subscriptions_owner_id"), "subscriptions", ["owner_id"], unique=False)
    op.create_index(
        op.f("ix_subscriptions_school_id"), "subscriptions", ["school_id"], unique=False
    )
    op.create_table(
        "ack_chases",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_ack_chases_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_ack_chases_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("alert_id", "school_id", name=op.f("pk_ack_chases")),
    )
    op.create_table(
        "alert_watches",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("by_email", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_watches_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_alert_watches_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "alert_id", name=op.f("pk_alert_watches")),
    )
    op.create_index(op.f("ix_alert_watches_alert_id"), "alert_watches", ["alert_id"], unique=False)
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("school_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("subscription_id", sa.Uuid(), nullable=True),
        sa.Column("alert_id", sa.Uuid(), nullable=True),
        sa.Column("target", sa.String(length=500), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=True),
        sa.Column("digest_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim", sa.String(length=40), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "channel IN ('email', 'webhook', 'in_app')", name=op.f("ck_notifications_channel")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'dead', 'held', 'digested', 'cancelled')",
            name=op.f("ck_notifications_status"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_notifications_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["notifications.id"],
            name=op.f("fk_notifications_digest_id_notifications"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_notifications_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_notifications_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_notifications_subscription_id_subscriptions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notifications_dedupe_key")),
    )
    op.create_index("ix_notifications_due", "notifications", ["status", "due_at"], unique=False)
    op.create_index(
        "ix_notifications_member_created",
        "notifications",
        ["member_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_notifications_school_created",
        "notifications",
        ["school_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_notifications_subscription_status",
        "notifications",
        ["subscription_id", "status"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_subscription_status", table_name="notifications")
    op.drop_index("ix_notifications_school_created", table_name="notifications")
    op.drop_index("ix_notifications_member_created", table_name="notifications")
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index(op.f("ix_alert_watches_alert_id"), table_name="alert_watches")
    op.drop_table("alert_watches")
    op.drop_table("ack_chases")
    op.drop_index(op.f("ix_subscriptions_school_id"), table_name="subscriptions")
    op.drop_index(op.f("ix_subscriptions_owner_id"), table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_table("notification_defaults")
    op.drop_table("ack_deadlines")
