"""What a second factor adds to signing in, beside the Argon2id it sits behind.

Measured in one run, at the configured (RFC 9106) Argon2id parameters:

- baseline: one Argon2id derivation;
- the factor's own check: open the sealed TOTP secret and compare a code
  against the three steps the hub accepts (crypto only);
- a whole sign-in with the factor through the hub (the password page, then the
  code page; real requests on the test client, SQLite or PostgreSQL), beside a
  whole sign-in without one (a staff member of the same school).

The target (issue 15): a whole sign-in with the factor costs at most 1.1x one
Argon2id plus the factor's own check; the second step must not hash the
password again. Printed: (Argon2id + the factor's check) / Argon2id, the target
ratio sign-in with the factor / (Argon2id + the factor's check) (this includes
everything else a sign-in request does: the session vault, the database, the
audit entry, the rate limiter), and sign-in with the factor / sign-in without
one (what the factor adds to a real sign-in).

Each sign-in is timed inside the hub (the WSGI application, from the call to
the last byte of its answer: every hook, the view, the commit, the cookie),
not around the test client, whose own work (encoding the form, its cookie jar,
wrapping the answer) a browser does on its own machine; the client-side figure
is printed beside it.

Also printed: each figure's CPU time (the whole process, every thread), and
the sign-in's work beyond its own Argon2id, measured directly: the Argon2id
inside each sign-in is timed where the hub calls it and taken off that
sign-in, because two separate Argon2id runs differ by more than that work
when other jobs share the cores.

Run: ``python bench/second_factor.py [--database-url postgresql://...] [--repetitions 7]``
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _support import fresh_database, make_app, median_p95_ms, table, timings
from sqlalchemy import update

from crypto import custody, factors
from crypto.custody import RFC9106, Argon2Params, _password_key
from network.db import own_transaction
from schools.models import Cluster, Role, SecondFactor
from tests.conftest import PASSWORD, World, post_form
from tests.network.factor_helpers import enrol_app, totp

HEAD = "head@bench.example.org"
STAFF = "staff@bench.example.org"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repetitions", type=int, default=7)
    args = parser.parse_args()

    app = make_app(fresh_database(args.database_url), password_params=RFC9106)
    world = World(app)
    cluster = world.cluster(second_factors=True)
    school = world.school(cluster, "Bench School")
    world.person(Role.HEAD, HEAD, school=school)
    world.person(Role.STAFF, STAFF, school=school)
    hub = _HubClock(app)
    client = app.test_client()
    post_form(client, "/sign-in", {"email": HEAD, "password": PASSWORD})
    secret, _codes = enrol_app(client)
    post_form(client, "/sign-out", {}, page="/account")
    with own_transaction(app) as session:
        assert session.query(Cluster).count() == 1

    samples: list[float] = []
    samples_cpu: list[float] = []
    # The Argon2id inside each sign-in, timed where the hub calls it, so that
    # the rest of the sign-in (the work this target is about) is measured
    # directly, not as the difference of two Argon2id runs of their own
    # (which differ by more than that work when other jobs share the cores).
    inside: list[tuple[float, float]] = []
    hashing = custody._password_key

    def timed_hashing(password: str, salt: bytes, params: Argon2Params) -> bytes:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return hashing(password, salt, params)
        finally:
            inside.append((time.perf_counter() - start, time.process_time() - cpu))

    custody._password_key = timed_hashing  # type: ignore[assignment]
    beyond: list[float] = []
    beyond_cpu: list[float] = []
    at_client: list[float] = []

    def sign_in_with_factor() -> None:
        # Not timed: an unused step for the code, the pages' CSRF tokens, sign-out.
        with own_transaction(app) as session:
            session.execute(update(SecondFactor).values(last_step=0))
        token = _token(client, "/sign-in")
        inside.clear()
        start = time.perf_counter()
        password = client.post(
            "/sign-in", data={"email": HEAD, "password": PASSWORD, "csrf_token": token}
        )
        first, (hub_first, hub_first_cpu) = time.perf_counter() - start, hub.last
        assert password.status_code == 302, password.status_code
        token = _token(client, "/sign-in/second-factor")  # the code page, as a browser loads it
        start = time.perf_counter()
        done = client.post(
            "/sign-in/second-factor", data={"app-code": totp(secret), "csrf_token": token}
        )
        at_client.append(first + time.perf_counter() - start)
        samples.append(hub_first + hub.last[0])
        samples_cpu.append(hub_first_cpu + hub.last[1])
        assert len(inside) == 1, "a sign-in hashes the password once"
        beyond.append(samples[-1] - inside[0][0])
        beyond_cpu.append(samples_cpu[-1] - inside[0][1])
        assert done.status_code == 303, done.get_data(as_text=True)[:300]
        client.post("/sign-out", data={"csrf_token": _token(client, "/account")})

    plain: list[float] = []
    plain_cpu: list[float] = []

    def sign_in_without_factor() -> None:
        token = _token(client, "/sign-in")
        response = client.post(
            "/sign-in", data={"email": STAFF, "password": PASSWORD, "csrf_token": token}
        )
        plain.append(hub.last[0])
        plain_cpu.append(hub.last[1])
        assert response.status_code == 302, response.status_code
        client.post("/sign-out", data={"csrf_token": _token(client, "/account")})

    salt = os.urandom(16)
    argon: list[float] = []

    argon_cpu: list[float] = []

    def one_argon2id() -> None:
        start, cpu = time.perf_counter(), time.process_time()
        _password_key(PASSWORD, salt, RFC9106)
        argon.append(time.perf_counter() - start)
        argon_cpu.append(time.process_time() - cpu)

    key = factors.seal_key(os.urandom(32))
    sealed = factors.seal_secret(key, secret, b"bench")

    def factor_check() -> None:
        opened = factors.open_secret(key, sealed, b"bench")
        now = factors.totp_step(time.time())
        assert factors.totp_matching_step(opened, totp(secret), now - 1, now + 1) is not None

    check = timings(factor_check, 200)
    start = time.process_time()
    for _ in range(200):
        factor_check()
    check_cpu_ms = (time.process_time() - start) * 1000 / 200
    # Alternated with the baseline, so that all three meet the same load on
    # this machine (a baseline taken apart from the sign-ins made the ratio
    # swing by 0.2 either way when other jobs came and went).
    for _ in range(args.repetitions + 2):
        one_argon2id()
        sign_in_with_factor()
        sign_in_without_factor()
    whole, without = samples[2:], plain[2:]  # two warm-up rounds left out
    argon = argon[2:]
    whole_cpu, without_cpu, argon_cpu = samples_cpu[2:], plain_cpu[2:], argon_cpu[2:]
    beyond, beyond_cpu, at_client = beyond[2:], beyond_cpu[2:], at_client[2:]

    argon_ms, argon_p95 = median_p95_ms(argon)
    check_ms, check_p95 = median_p95_ms(check)
    whole_ms, whole_p95 = median_p95_ms(whole)
    plain_ms, plain_p95 = median_p95_ms(without)
    print(
        f"Argon2id t={RFC9106.time_cost} m={RFC9106.memory_kib // 1024} MiB p={RFC9106.lanes}, "
        f"{args.repetitions} repetitions, "
        f"{'PostgreSQL' if args.database_url.startswith('postgresql') else 'SQLite'}"
    )
    print(
        table(
            ["what", "median ms", "p95 ms"],
            [
                ["one Argon2id (baseline)", argon_ms, argon_p95],
                ["the factor's own check (TOTP)", check_ms, check_p95],
                ["Argon2id + factor check", argon_ms + check_ms, argon_p95 + check_p95],
                ["sign-in without a factor (1 request)", plain_ms, plain_p95],
                ["sign-in with the factor (2 requests)", whole_ms, whole_p95],
            ],
        )
    )
    client_ms = median_p95_ms(at_client)[0]
    extra_ms = median_p95_ms([c - h for c, h in zip(at_client, whole, strict=True)])[0]
    print(
        f"the same sign-ins timed at the test client: {client_ms:.1f} ms median "
        f"(each {extra_ms:.2f} ms more, median: the client's own work, not the hub's)"
    )
    print(f"ratio (Argon2id + factor check) / Argon2id: {(argon_ms + check_ms) / argon_ms:.4f}")
    print(
        "ratio sign-in with the factor / (Argon2id + factor check): "
        f"{whole_ms / (argon_ms + check_ms):.3f} (target <= 1.1)"
    )
    print(f"ratio sign-in with the factor / sign-in without: {whole_ms / plain_ms:.3f}")
    # CPU time of the whole process (every thread: Argon2id's four lanes, the
    # hub's request): steadier than the wall clock when other jobs share the
    # cores, but another measure. Argon2id's lanes run in parallel, so its CPU
    # time is about twice its wall time on two cores while the rest of a
    # sign-in is one thread: these ratios are lower than the wall-clock ones,
    # and the target is read on the wall clock above. PostgreSQL's own work
    # (another process) is not counted here.
    argon_cpu_ms = median_p95_ms(argon_cpu)[0]
    whole_cpu_ms = median_p95_ms(whole_cpu)[0]
    plain_cpu_ms = median_p95_ms(without_cpu)[0]
    print(
        f"CPU ms (median): one Argon2id {argon_cpu_ms:.1f}, factor check {check_cpu_ms:.3f}, "
        f"sign-in without a factor {plain_cpu_ms:.1f}, with the factor {whole_cpu_ms:.1f}"
    )
    print(
        "CPU ratio sign-in with the factor / (Argon2id + factor check): "
        f"{whole_cpu_ms / (argon_cpu_ms + check_cpu_ms):.3f}"
    )
    # The same sign-ins, less the Argon2id each ran (timed inside it): what the
    # two requests cost beyond the password hashing, and the ratio that work
    # gives beside this run's baseline (the target allows 0.1 x the baseline).
    beyond_ms, beyond_p95 = median_p95_ms(beyond)
    beyond_cpu_ms = median_p95_ms(beyond_cpu)[0]
    print(
        f"sign-in with the factor beyond its own Argon2id: {beyond_ms:.1f} ms wall "
        f"(p95 {beyond_p95:.1f}), {beyond_cpu_ms:.1f} ms CPU; "
        f"(Argon2id + that) / (Argon2id + factor check): "
        f"{(argon_ms + beyond_ms) / (argon_ms + check_ms):.3f}"
    )


class _HubClock:
    """Times each request inside the hub: the WSGI application from the call to
    the last byte of its answer (every before- and after-request step, the
    view, the commit, the session cookie). What the test client does around it
    (encoding the form, its cookie jar, wrapping the answer) is not the hub's
    work: a browser does it on its own machine."""

    def __init__(self, app: Any) -> None:
        self.inner = app.wsgi_app
        app.wsgi_app = self
        self.last = (0.0, 0.0)

    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        start, cpu = time.perf_counter(), time.process_time()
        answer = self.inner(environ, start_response)
        try:
            body = list(answer)
        finally:
            if hasattr(answer, "close"):
                answer.close()
        self.last = (time.perf_counter() - start, time.process_time() - cpu)
        return body


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _token(client: object, page_url: str) -> str:
    page = client.get(page_url).get_data(as_text=True)  # type: ignore[attr-defined]
    match = _CSRF.search(page)
    return match.group(1) if match else ""


if __name__ == "__main__":
    main()
