"""`alertnet dashboard rebuild`: recompute the dashboard's daily figures from
the alerts, e.g. after restoring a backup (docs/dashboard.md, "Daily figures")."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import delete, select

from network.alerts.daily_figures import rebuild
from network.commands import BadInput, transaction
from network.dashboard.models import FigureSnapshot
from schools.models import Cluster


@click.group("dashboard")
def dashboard_cli() -> None:
    """The coordinator's dashboard."""


@dashboard_cli.command("rebuild")
@click.option("--cluster", "cluster_name", help="Only this cluster (by name); default: all.")
@with_appcontext
def rebuild_command(cluster_name: str | None) -> None:
    """Recompute the per-school daily figures from the alerts and their copies.

    Posting and acknowledging keep them as they happen; run this after a
    restore, or whenever they are in doubt. One transaction: the dashboard
    shows the old figures until it commits. Stored figures of periods are
    dropped, so the next view computes them from the rebuilt days.
    """
    with transaction() as session:
        cluster_id = None
        if cluster_name is not None:
            cluster_id = session.scalar(select(Cluster.id).where(Cluster.name == cluster_name))
            if cluster_id is None:
                raise BadInput(f"No cluster is called {cluster_name!r}.")
        done = rebuild(session, cluster_id)
        session.execute(
            delete(FigureSnapshot).where(
                *([] if cluster_id is None else [FigureSnapshot.cluster_id == cluster_id])
            )
        )
    click.echo(
        f"Rebuilt the daily figures of {done.alerts:,} alerts and {done.copies:,} copies "
        f"({done.school_rows:,} + {done.filing_rows:,} rows)."
    )
