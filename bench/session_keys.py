"""What a signed-in request spends opening the school's keys, beside what it
spent when the session row sealed the member's credential, measured in one run.

Now: AES-256-GCM-open the session row with the cookie's key, parse the bundle.
Before: open the row to a credential seed, expand the X-Wing key pair and
HPKE-unwrap the school's wrap (plus one database read, not counted here).
Also the check made at each unlock: the bundle's public keys, as compared with
the published ones.

Run: ``python bench/session_keys.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crypto import custody
from crypto.keys import CredentialKey, SchoolKeys


def median_ms(run: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    rounds = parser.parse_args().rounds
    keys, credential = SchoolKeys.generate(3), CredentialKey.generate()
    school, member = uuid.uuid4(), uuid.uuid4()
    context = custody.session_context(member, school, 3, bytes(32))
    bundle_key, bundle_row = custody.seal_for_session(keys.to_bytes(), context)
    seed_key, seed_row = custody.seal_for_session(credential.seed, context)
    wrap_context = custody.keywrap_context(school, 3, "member", member)
    wrap = custody.wrap_to_credential(keys.to_bytes(), credential.public_bytes(), wrap_context)

    def now() -> SchoolKeys:
        return SchoolKeys.from_bytes(custody.open_for_session(bundle_key, bundle_row, context))

    def before() -> SchoolKeys:
        seed = custody.open_for_session(seed_key, seed_row, context)
        plain = custody.unwrap_with_credential(wrap, CredentialKey(seed), wrap_context)
        return SchoolKeys.from_bytes(plain)

    assert now() == before() == keys
    new, old = median_ms(now, rounds), median_ms(before, rounds)
    # A bundle fresh from its wrap, as at unlock (a SchoolKeys keeps its public keys).
    check = median_ms(lambda: SchoolKeys.from_bytes(keys.to_bytes()).public().to_bytes(), rounds)
    print(f"{'per request':<44} {'median ms':>10}")
    print(f"{'now: open the row, parse the bundle':<44} {new:>10.4f}")
    print(f"{'before: open the row, expand, HPKE-unwrap':<44} {old:>10.4f}")
    print(f"{'ratio before / now':<44} {old / new:>10.1f}")
    print(f"{'unlock check: parse, derive public keys':<44} {check:>10.4f}")


if __name__ == "__main__":
    main()
