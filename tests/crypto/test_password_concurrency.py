"""Password hashing under concurrency: several sign-ins at once in one process
all finish with the right answer, and the memory they hold is bounded."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from crypto import custody
from crypto.custody import (
    RFC9106,
    HashingBudget,
    unwrap_seed_with_password,
    wrap_seed_with_password,
)
from crypto.errors import HashingBusy, WrongPassword

OWNER = custody.password_owner(uuid.UUID(int=1), uuid.UUID(int=2))


@pytest.fixture
def budget() -> Iterator[None]:
    """Leave the process's budget as the test found it."""
    before = custody._budget
    yield
    custody.set_hashing_budget(before)


def test_sixteen_sign_ins_at_the_recommended_cost_all_finish_correctly(budget: None) -> None:
    # RFC 9106's parameters, four lanes: the case where OpenSSL's Argon2 hung.
    custody.set_hashing_budget(HashingBudget(4 * RFC9106.memory_kib, wait_seconds=60))
    seeds = [os.urandom(32) for _ in range(16)]
    blobs = [
        wrap_seed_with_password(seed, f"password {i}", RFC9106, OWNER)
        for i, seed in enumerate(seeds)
    ]

    def sign_in(i: int) -> bytes | str:
        password = f"password {i}" if i % 4 else "wrong password"
        try:
            return unwrap_seed_with_password(blobs[i], password, OWNER)
        except WrongPassword:
            return "wrong"

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(sign_in, range(16), timeout=120))
    assert results == [("wrong" if i % 4 == 0 else seeds[i]) for i in range(16)]


def test_the_key_is_the_same_argon2id_as_before_the_change() -> None:
    """Blobs made before the hub moved to argon2-cffi still open: both libraries
    compute RFC 9106 Argon2id (version 0x13) and agree byte for byte."""
    salt = os.urandom(16)
    ours = custody._password_key("pässwörd", salt, RFC9106)
    theirs = Argon2id(salt=salt, length=32, iterations=3, lanes=4, memory_cost=65536).derive(
        "pässwörd".encode()
    )
    assert ours == theirs


def test_hashing_beyond_the_budget_waits_for_memory_to_be_free(budget: None) -> None:
    gate = HashingBudget(100, wait_seconds=5)
    order: list[str] = []
    first_in = threading.Event()
    release = threading.Event()

    def first() -> None:
        with gate.hold(80):
            order.append("first in")
            first_in.set()
            release.wait(5)
            order.append("first out")

    def second() -> None:
        first_in.wait(5)
        with gate.hold(80):
            order.append("second in")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_in.wait(5)
    time.sleep(0.2)  # the second is now waiting, not running
    assert order == ["first in"]
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ["first in", "first out", "second in"]


def test_hashing_that_cannot_get_memory_in_time_is_refused_as_busy() -> None:
    gate = HashingBudget(100, wait_seconds=0.2)
    with gate.hold(80), pytest.raises(HashingBusy) as refused, gate.hold(80):
        pass
    assert refused.value.retry_after >= 1
    with gate.hold(80):  # freed again after the refusal
        pass


def test_one_derivation_may_exceed_the_budget_on_its_own() -> None:
    gate = HashingBudget(10, wait_seconds=0)
    with gate.hold(1000):
        pass


def test_busy_is_not_a_crypto_error_so_it_is_never_taken_for_a_wrong_password() -> None:
    from crypto.errors import CryptoError

    assert not issubclass(HashingBusy, CryptoError)
