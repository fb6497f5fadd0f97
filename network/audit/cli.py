"""``alertnet audit``: sign checkpoints and verify the log from a shell.

Exit status: 0 when everything checks out, 1 when verification fails (the log
or a checkpoint does not match; the message names the first entry that does
not), 2 on bad input (an unreadable or malformed checkpoint file).
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click
from flask.cli import with_appcontext

from crypto.checkpoint import Checkpoint, NoteError, open_checkpoint
from crypto.merkle import ProofError, verify_consistency
from network.audit import restores
from network.audit.documents import b64
from network.audit.signer import signer, verifier
from network.commands import BadInput
from network.db import own_transaction
from schools.audit import checkpoints, proofs
from schools.audit import queue as audit_queue
from schools.audit.integrity import record_verification
from schools.audit.replay import replay_checkpoint
from schools.audit.tree import tree_size
from schools.audit.verify import verify_log
from schools.db import utcnow
from schools.errors import LogIntegrityError


def _fail(message: str) -> None:
    click.echo(f"FAILED: {message}", err=True)
    sys.exit(1)


@click.group("audit")
def audit_cli() -> None:
    """The audit log: sign checkpoints, verify the whole log."""


@audit_cli.command("checkpoint")
@with_appcontext
def checkpoint() -> None:
    """Sign a checkpoint of the log now (unless the latest already covers every
    entry) and print the signed note, e.g. to save it to a file."""
    with own_transaction() as session:
        row = checkpoints.current_checkpoint(session, signer(), max_age=timedelta(0), covering=None)
        note = row.note
    click.echo(note, nl=False)


@audit_cli.command("key")
@with_appcontext
def key() -> None:
    """Print the log's verifier key (vkey), for schools to pin."""
    click.echo(signer().verifier_key())


@audit_cli.command("verify")
@click.option(
    "--from-checkpoint",
    "saved",
    type=click.Path(path_type=Path, dir_okay=False),
    help=(
        "A signed checkpoint saved earlier: recompute every entry it covers and "
        "check the stored tree extends it."
    ),
)
@with_appcontext
def verify(saved: Path | None) -> None:
    """Recompute every leaf, subtree and checkpoint of the log from its entries.

    With --from-checkpoint FILE, instead check the history that the checkpoint
    in FILE signed: recompute the leaf of every entry it covers from the
    entry's fields, rebuild the tree at its size and compare the root with the
    signed one, then verify the consistency proof from its size to the log's.
    Exit 1 names the first changed, missing or reordered entry (and a restore
    from an older backup, if one explains it); 2 if FILE is not a checkpoint.

    Read events still queued for the log (docs/audit-log.md, "Queued reads")
    are counted and named as not covered.
    """
    if saved is not None:
        _verify_saved(saved)
        return
    started = utcnow()
    show_progress = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show_progress and (done % (1 << 20) < 1 << 13 or done == total):
            click.echo(f"  {done:,} of {total:,} entries", err=True)

    report = verify_log(own_transaction, verifier(), progress=progress)
    with own_transaction() as session:
        record_verification(session, report, started)
    if not report.ok:
        where = f" at entry {report.seq}" if report.seq is not None else ""
        _fail(f"audit log verification failed{where}: {report.problem}")
    if report.latest_size is None or report.latest_signed_at is None:
        latest = "no checkpoint signed yet"
    else:
        latest = (
            f"latest checkpoint size {report.latest_size:,} signed "
            f"{report.latest_signed_at:%Y-%m-%d %H:%M} UTC"
        )
    click.echo(
        f"verified {report.entries:,} entries and {report.checkpoints:,} checkpoints; {latest}"
    )
    with own_transaction() as session:
        queued = audit_queue.queued_count(session)
    if queued:
        # Reads waiting for the sequencer are in no tree yet: say so, not "verified".
        click.echo(
            f"read events queued and not yet in the log: {queued:,} (the next write or the "
            "worker adds them within a minute); this check does not cover them"
        )


def _verify_saved(path: Path) -> None:
    try:
        note = path.read_bytes()
    except OSError as error:
        raise BadInput(f"Cannot read {path}: {error.strerror or error}.") from None
    body, blank, signatures = note.rpartition(b"\n\n")
    try:
        if not blank or not signatures:
            raise NoteError("no blank line before a signature")
        Checkpoint.parse(body + b"\n")
    except NoteError as error:
        raise BadInput(f"{path} is not a signed checkpoint: {error}.") from None
    hub_verifier = verifier()
    try:
        saved = open_checkpoint(note, hub_verifier, hub_verifier.name)
    except NoteError as error:
        _fail(f"{path} was not signed by this hub's log key {hub_verifier.verifier_key()}: {error}")
        return
    with own_transaction() as session:
        size = tree_size(session)
        cut = restores.restores_cutting(session, saved.size)
    if saved.size == 0:
        click.echo("the saved checkpoint is of the empty log; there is nothing to check")
        return
    # Positions past the log's end count as missing entries, so a log cut short
    # is named at its first lost entry too.
    replay = replay_checkpoint(own_transaction, saved.size, saved.root)
    if not replay.ok:
        where = f" at entry {replay.first_bad}" if replay.first_bad is not None else ""
        shorter = (
            f" (the checkpoint signs {saved.size:,} entries but the log has only {size:,})"
            if saved.size > size
            else ""
        )
        _fail_saved(
            f"the log's first {saved.size:,} entries are not the ones the saved checkpoint "
            f"signed{where}: {replay.problem()}{shorter}",
            restores.explain(cut, saved.size, replay.first_bad),
        )
    recomputed = (
        f"Recomputed {saved.size:,} entries (0 to {saved.size - 1}) from their fields: "
        f"they rebuild the checkpoint's root {b64(saved.root)}."
    )
    if size == saved.size:
        click.echo(f"{recomputed}\nThe log has no entries after them; no consistency proof needed.")
        return
    with own_transaction() as session:
        try:
            proof = proofs.consistency(session, saved.size, size)
        except LogIntegrityError as error:
            _fail(f"the stored tree is damaged: {error.message}")
            return
    try:
        verify_consistency(saved.size, size, saved.root, proof.new_root, proof.proof)
    except ProofError as error:
        _fail(
            f"the stored tree of {size:,} entries does not extend the saved checkpoint of "
            f"{saved.size:,} ({error}), although its entries rebuild the checkpoint's root: "
            "the stored subtrees were changed (run 'alertnet audit verify')"
        )
    click.echo(
        f"{recomputed}\nConsistency proof {saved.size:,} → {size:,} verified: the stored "
        f"tree of {size:,} entries (root {b64(proof.new_root)}) extends the checkpoint. "
        f"Entries {saved.size} to {size - 1} were not recomputed by this check "
        "('alertnet audit verify' recomputes them all)."
    )


def _fail_saved(message: str, explained: str) -> None:
    _fail(f"{message}\n{explained}" if explained else message)
