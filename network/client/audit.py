"""``alertnet client audit``: keep the hub's log honest from outside it.

A school saves a signed checkpoint, and later rebuilds its tree from the
hub's entries and checks the hub's consistency proof from it to the latest
checkpoint, against the key pinned at login.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from crypto import merkle
from crypto.checkpoint import Checkpoint, NoteError, NoteVerifier, open_checkpoint
from crypto.replay import PrefixReplay, ReplayResult
from network.client.hub import ClientError, Hub, Refused, load_config
from network.client.output import emit_json, when

# The most the hub's /audit/leaves gives at once (network/audit/api.py).
LEAVES_PER_PAGE = 10000


@click.group("audit")
def audit_group() -> None:
    """Save the hub's signed audit checkpoint, and check later that every entry
    it covers is unchanged and the log still extends it."""


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


@dataclass
class _Rebuilt:
    """The checkpoint's tree rebuilt from the hub's leaves."""

    result: ReplayResult
    here: int  # leaves hashed here from their leaf text
    from_hub: int  # leaf hashes the hub recomputed (entries outside your scope)
    restorations: list[dict[str, Any]]


def _rebuild(hub: Hub, old: Checkpoint) -> _Rebuilt:
    """Page through every entry the checkpoint covers and rebuild its tree."""
    replay = PrefixReplay(old.size, old.root)
    here = from_hub = 0
    restorations: list[dict[str, Any]] = []
    while replay.next < old.size:
        page = hub.json(
            "GET",
            "/audit/leaves",
            query={"start": replay.next, "end": old.size, "limit": LEAVES_PER_PAGE},
            retry=True,
        )
        restorations = page["restorations"]
        if not page["leaves"]:
            raise ValueError(f"the hub sent no leaves from entry {replay.next} on")
        for item in page["leaves"]:
            text, recomputed = item["leaf"], item["leaf_hash"]
            if text is not None:
                leaf: bytes | None = merkle.leaf_hash(text.encode("utf-8"))
                here += 1
            else:
                leaf = base64.b64decode(recomputed, validate=True) if recomputed else None
                from_hub += int(item["present"])
            stored = item["stored_leaf_hash"]
            replay.add(
                item["seq"],
                leaf,
                base64.b64decode(stored, validate=True) if stored else None,
                present=bool(item["present"]),
            )
    return _Rebuilt(replay.result(), here, from_hub, restorations)


def _restored(restorations: list[dict[str, Any]], size: int, first_bad: int | None) -> list[str]:
    """The hub's restores that can explain a failure at ``first_bad``: those that
    kept fewer entries than that (as network/audit/restores.py says it)."""
    lines = []
    for cut in restorations:
        if first_bad is not None and cut["restored_size"] > first_bad:
            continue
        because = f"; reason given: {cut['reason']}" if cut.get("reason") else ""
        lines.append(
            f"The log was restored from a backup on {when(cut['at'])} UTC to its first "
            f"{cut['restored_size']:,} entries (entry {cut['seq']} records it{because}). "
            f"A checkpoint saved before that restore covers entries {cut['restored_size']} "
            f"to {size - 1}, which the restored log lost, so it cannot match."
        )
    return lines


@audit_group.command("verify")
@click.argument("saved", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--update", is_flag=True, help="Then replace SAVED with the newer checkpoint.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def audit_verify(saved: Path, update: bool, as_json: bool) -> None:
    """Check the hub's log against the checkpoint in SAVED, signed with the pinned key.

    Fetches every entry the checkpoint covers: hashes the leaf text of those in
    your scope here, takes the hub's recomputed leaf hash for the others, rebuilds
    the tree at the checkpoint's size and compares its root with the signed one.
    Then the hub's latest checkpoint must verify with the pinned key and its
    consistency proof must lead from SAVED to it. Exit 1 names the first changed,
    missing or reordered entry (keep both notes: they prove the hub rewrote history).
    """
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
    try:
        rebuilt = _rebuild(hub, old)
    except (ValueError, KeyError, TypeError) as error:
        _failed(as_json, old.size, None, f"the hub's leaves cannot be read: {error}", [])
    problem = rebuilt.result.problem()
    if problem is not None:
        seq = rebuilt.result.first_bad
        where = f" at entry {seq}" if seq is not None else ""
        _failed(
            as_json,
            old.size,
            seq,
            f"the hub's first {old.size:,} entries are not the ones the checkpoint signed"
            f"{where}: {problem}",
            _restored(rebuilt.restorations, old.size, seq),
        )
    proof = hub.json("GET", "/audit/proofs/consistency", query={"from": old.size}, retry=True)
    try:
        new = open_checkpoint(proof["checkpoint"]["note"].encode(), verifier, origin)
        if proof["to"] != new.size or base64.b64decode(proof["to_root"]) != new.root:
            raise merkle.ProofError("the proof is not for the checkpoint sent with it")
        merkle.verify_consistency(
            old.size, new.size, old.root, new.root, [base64.b64decode(h) for h in proof["proof"]]
        )
    except (NoteError, merkle.ProofError, ValueError, KeyError, TypeError) as error:
        _failed(
            as_json,
            old.size,
            None,
            f"the hub's log does not extend the checkpoint of {old.size:,} entries: {error}",
            [],
        )
    if update:
        saved.write_text(proof["checkpoint"]["note"])
    if as_json:
        emit_json(
            {
                "ok": True,
                "from": old.size,
                "to": new.size,
                "recomputed_here": rebuilt.here,
                "hashes_from_hub": rebuilt.from_hub,
                "updated": update,
            }
        )
        return
    click.echo(
        f"Recomputed {old.size:,} entries (0 to {old.size - 1}) against the checkpoint's root "
        f"{base64.b64encode(old.root).decode()}: {rebuilt.here:,} hashed here from their leaf "
        f"text, {rebuilt.from_hub:,} from leaf hashes the hub recomputed (entries outside "
        "your scope); the tree they build has that root."
    )
    if new.size == old.size:
        click.echo("The hub's latest checkpoint, signed with the pinned key, is of the same size.")
    else:
        click.echo(
            f"Consistency proof {old.size:,} → {new.size:,} verified against the hub's "
            "latest checkpoint, signed with the pinned key. Entries after the saved "
            "checkpoint were not recomputed."
        )
    if update:
        click.echo(f"Saved the newer checkpoint to {saved}.")


def _failed(
    as_json: bool, size: int, seq: int | None, problem: str, explained: list[str]
) -> NoReturn:
    if as_json:
        emit_json(
            {"ok": False, "from": size, "seq": seq, "problem": problem, "explained": explained}
        )
    raise Refused("\n".join([f"FAILED: {problem}", *explained]))
