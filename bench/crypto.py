"""Seal/open cost of the alert envelope against its unavoidable parts, measured in one run.

For 1, 10, 100 and 1000 recipients it prints the median time of ``seal`` and of
one ``open_``, beside N raw HPKE X-Wing encryptions, one raw AES-256-GCM
encryption of the same plaintext and one Ed25519 + ML-DSA-65 signature, and
the ratio ``seal / (N raw wraps + one signature)`` (target: <= 1.2).

"seal (warm)" reuses recipient ``SchoolPublicKeys`` objects, as a long-lived
process with a key cache would; "seal (cold)" parses every recipient's public
keys from bytes first, as a request that loads them from the database would.

Run: ``python bench/crypto.py [--plaintext-bytes N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _support import median_ms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.envelope import Header, Recipient, new_alert_id, open_, seal
from crypto.keys import HPKE_SUITE, SchoolKeys, SchoolPublicKeys

SIZES = (1, 10, 100, 1000)
REPETITIONS = {1: 1001, 10: 301, 100: 41, 1000: 9}


def header_for(recipients: list[Recipient], sender: str) -> Header:
    return Header(
        version=1,
        alert_id=new_alert_id(),
        cluster="bench-cluster",
        sender_school=sender,
        sender_generation=1,
        sender_member="head@school-0000",
        created_at=datetime.now(UTC),
        kind="alert",
        parent=None,
        category="defamation",
        severity="high",
        platform="social",
        tlp="AMBER",
        recipients=tuple(recipients),
    )


def measure(
    n: int,
    plaintext: bytes,
    schools: list[SchoolKeys],
    publics: list[SchoolPublicKeys],
    public_bytes: list[bytes],
) -> dict[str, float]:
    """One table row: every column for ``n`` recipients, timed round-robin."""
    sender = schools[0]
    recipients = [Recipient(f"school-{i:04d}", 1) for i in range(n)]
    mapping = dict(zip(recipients, publics[:n], strict=True))
    header = header_for(recipients, "school-0000")
    last = recipients[-1]
    one = seal(header, plaintext, mapping, sender).for_recipient(last)
    sender_public = sender.public()
    aes_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)

    def seal_cold() -> object:
        loaded = {
            r: SchoolPublicKeys.from_bytes(b)
            for r, b in zip(recipients, public_bytes[:n], strict=True)
        }
        return seal(header, plaintext, loaded, sender)

    def raw_wraps() -> None:
        cek = os.urandom(32)
        for public in publics[:n]:
            HPKE_SUITE.encrypt(cek, public.kem_public_key(), info=b"alertnet/v1/wrap\0" + cek)

    return median_ms(
        {
            "seal": lambda: seal(header, plaintext, mapping, sender),
            "cold": seal_cold,
            "open": lambda: open_(one, last.school, schools[n - 1], sender_public),
            "wraps": raw_wraps,
            "aes": lambda: AESGCM(aes_key).encrypt(nonce, plaintext, b"h" * 32),
            # A fresh message of the signed message's size each time, as in seal().
            "sign": lambda: sender.sign(os.urandom(16 + 4 * 32), b"alertnet/v1/sig"),
        },
        REPETITIONS[n],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--plaintext-bytes", type=int, default=4096)
    args = parser.parse_args()
    plaintext = os.urandom(args.plaintext_bytes)

    schools = [SchoolKeys.generate(1) for _ in range(max(SIZES))]
    publics = [keys.public() for keys in schools]
    public_bytes = [public.to_bytes() for public in publics]

    print(f"plaintext {args.plaintext_bytes} bytes; medians, in milliseconds")
    columns = (
        f"{'N':>5} {'seal warm':>10} {'seal cold':>10} {'open_':>8} {'raw HPKE xN':>12}"
        f" {'raw AES-GCM':>12} {'1 signature':>12} {'ratio warm':>11} {'ratio cold':>11}"
    )
    print(columns)
    print("-" * len(columns))
    for n in SIZES:
        ms = measure(n, plaintext, schools, publics, public_bytes)
        baseline = ms["wraps"] + ms["sign"]
        print(
            f"{n:>5} {ms['seal']:>10.3f} {ms['cold']:>10.3f} {ms['open']:>8.3f}"
            f" {ms['wraps']:>12.3f} {ms['aes']:>12.4f} {ms['sign']:>12.3f}"
            f" {ms['seal'] / baseline:>11.2f} {ms['cold'] / baseline:>11.2f}"
        )
    print("ratio = seal / (N raw HPKE wraps + one Ed25519 + ML-DSA-65 signature); target <= 1.2")


if __name__ == "__main__":
    main()
