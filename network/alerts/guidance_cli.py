"""`alertnet guidance`: read and write a cluster's guidance per category from
a shell (the coordinator's Guidance page does the same; each save is a new
version, audited with the operator as the actor)."""

from __future__ import annotations

from typing import TextIO

import click
from flask.cli import with_appcontext

from network.alerts import guidance as guidance_ops
from network.commands import transaction
from schools import directory


@click.group("guidance")
def guidance_cli() -> None:
    """What each cluster's policy says to do for each category of alert."""


@guidance_cli.command("show")
@click.argument("cluster_key")
@with_appcontext
def show(cluster_key: str) -> None:
    """Print the guidance shown in cluster CLUSTER_KEY (name or id), per category."""
    with transaction() as session:
        cluster = directory.find_cluster(session, cluster_key)
        for code, shown in guidance_ops.current_guidance(session, cluster.id).items():
            version = "default" if shown.is_default else f"version {shown.version}"
            click.echo(f"[{code}] {shown.label} ({version})\n{shown.text}\n")


@guidance_cli.command("set")
@click.argument("cluster_key")
@click.argument("category")
@click.option(
    "--file", "text_file", type=click.File("r"), required=True, help="The text; - reads stdin."
)
@click.option("--summary", required=True, help="What changed and why (kept with the version).")
@with_appcontext
def set_guidance(cluster_key: str, category: str, text_file: TextIO, summary: str) -> None:
    """Save a new version of CLUSTER_KEY's guidance for CATEGORY (e.g. harassment)."""
    text = text_file.read()
    with transaction() as session:
        cluster = directory.find_cluster(session, cluster_key)
        saved = guidance_ops.edit_guidance(session, None, cluster, category, text, summary)
        click.echo(f"Saved version {saved.version} of {cluster.name}'s guidance on {saved.label}.")
