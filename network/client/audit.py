"""``alertnet client audit``: keep the hub's log honest from outside it.

A school saves a signed checkpoint, and later checks with the hub's
consistency proof that the log still extends it, against the key pinned at login.
"""

from __future__ import annotations

import base64
from pathlib import Path

import click

from crypto import merkle
from crypto.checkpoint import NoteError, NoteVerifier, open_checkpoint
from network.client.hub import ClientError, Hub, Refused, load_config
from network.client.output import emit_json


@click.group("audit")
def audit_group() -> None:
    """Save the hub's signed audit checkpoint, and check later that the log
    still extends it (nothing rewritten or removed)."""


def _verifier() -> tuple[NoteVerifier, str]:
    saved = load_config()
    if not saved.get("vkey") or not saved.get("origin"):
        raise ClientError("No pinned audit key: run 'alertnet client login' first.")
    return NoteVerifier.from_vkey(saved["vkey"]), saved["origin"]


@audit_group.command("checkpoint")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the note to this file."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def audit_checkpoint(out: Path | None, as_json: bool) -> None:
    """Fetch the latest signed checkpoint, check its signature with the pinned
    key, and print (or save) the note exactly."""
    verifier, origin = _verifier()
    document = Hub.configured().json("GET", "/audit/checkpoint", retry=True)
    try:
        checkpoint = open_checkpoint(document["note"].encode(), verifier, origin)
    except NoteError as error:
        raise Refused(
            f"The hub's checkpoint does not verify with the pinned key: {error}"
        ) from None
    if out is not None:
        out.write_text(document["note"])
    if as_json:
        emit_json(document)
    elif out is not None:
        click.echo(f"Saved the checkpoint of {checkpoint.size:,} entries to {out}.")
    else:
        click.echo(document["note"], nl=False)


@audit_group.command("verify")
@click.argument("saved", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--update", is_flag=True, help="Then replace SAVED with the newer checkpoint.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def audit_verify(saved: Path, update: bool, as_json: bool) -> None:
    """Check that the hub's log still contains, unchanged, everything the
    checkpoint in SAVED signed: the latest checkpoint must verify with the
    pinned key, and the hub's consistency proof must lead from one to the other.
    Exit 1 if not (keep both notes: they prove the hub rewrote history)."""
    verifier, origin = _verifier()
    try:
        old = open_checkpoint(saved.read_bytes(), verifier, origin)
    except (NoteError, OSError) as error:
        raise ClientError(
            f"{saved} is not a checkpoint signed by the pinned key: {error}"
        ) from None
    if old.size == 0:
        raise ClientError(f"{saved} is the checkpoint of an empty log: there is nothing to check.")
    hub = Hub.configured()
    proof = hub.json("GET", "/audit/proofs/consistency", query={"from": old.size}, retry=True)
    try:
        new = open_checkpoint(proof["checkpoint"]["note"].encode(), verifier, origin)
        if proof["to"] != new.size or base64.b64decode(proof["to_root"]) != new.root:
            raise merkle.ProofError("the proof is not for the checkpoint sent with it")
        merkle.verify_consistency(
            old.size, new.size, old.root, new.root, [base64.b64decode(h) for h in proof["proof"]]
        )
    except (NoteError, merkle.ProofError, ValueError, KeyError, TypeError) as error:
        result = {"ok": False, "from": old.size, "problem": str(error)}
        if as_json:
            emit_json(result)
        raise Refused(
            f"FAILED: the hub's log does not extend the checkpoint of {old.size:,} entries: {error}"
        ) from None
    if update:
        saved.write_text(proof["checkpoint"]["note"])
    if as_json:
        emit_json({"ok": True, "from": old.size, "to": new.size, "updated": update})
        return
    click.echo(
        f"Verified: the log of {new.size:,} entries extends the saved checkpoint of "
        f"{old.size:,} entries unchanged."
    )
    if update:
        click.echo(f"Saved the newer checkpoint to {saved}.")
