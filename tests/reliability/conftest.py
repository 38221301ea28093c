"""The reliability suite's switches and shared fixtures.

``--long`` turns the fast form (run in CI by ``make test``) into the long form: more
grants, more kill trials, more fuzzing examples, and the daemon outage run as a real
process with the SDK's own retry timing. Randomness is seeded: the base seed is fixed in
the fast form, fresh in the long form, and ``RELIABILITY_SEED=N`` pins it; every test
derives its own ``random.Random`` from the base seed and its node id and prints both.

The integration fixtures (``sandbox``, ``globus_env``) are reused as they are.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.conftest import globus_env, sandbox
from tests.reliability.scanning import SecretScan

__all__ = ["globus_env", "sandbox"]

FAST_SEED = 20260801
SEED_ENV = "RELIABILITY_SEED"
LONG_TIMEOUT = 1800
"""Seconds a long-form test may take (the project default of 120 is for the fast form)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="reliability suite: run the long form (more grants, trials and examples)",
    )


def is_long(config: pytest.Config) -> bool:
    return bool(config.getoption("--long", default=False))


def base_seed(config: pytest.Config) -> int:
    """``$RELIABILITY_SEED`` (which the long form sets at start-up unless it is given),
    else the fast form's fixed seed."""
    if os.environ.get(SEED_ENV):
        return int(os.environ[SEED_ENV])
    return FAST_SEED


def pytest_configure(config: pytest.Config) -> None:
    """Draw the long form's seed once, in the process that starts the run: pytest-xdist
    starts its workers afterwards, and they inherit it through the environment, so the
    whole run shares one seed."""
    if is_long(config) and not os.environ.get(SEED_ENV):
        os.environ[SEED_ENV] = str(random.SystemRandom().randrange(1, 2**31))


@dataclass(frozen=True, slots=True)
class Scale:
    """How big each scenario is, fast form vs long form."""

    long: bool
    fault_grants: int
    fault_max_passes: int
    kill_trials: int
    daemon_kill_trials: int
    kill_grants: int
    fuzz_examples: int


FAST = Scale(
    long=False,
    fault_grants=120,
    fault_max_passes=6,
    kill_trials=10,
    daemon_kill_trials=4,
    kill_grants=12,
    fuzz_examples=120,
)
LONG = Scale(
    long=True,
    fault_grants=500,
    fault_max_passes=8,
    kill_trials=40,
    daemon_kill_trials=12,
    kill_grants=40,
    fuzz_examples=2000,
)


def pytest_report_header(config: pytest.Config) -> str:
    form = "long" if is_long(config) else "fast"
    return f"reliability: {form} form, base seed {base_seed(config)} (pin with {SEED_ENV}=N)"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``kill_trial`` and ``daemon_kill_trial`` are one parametrized case per trial, so
    trials run in parallel and each reports on its own."""
    scale = LONG if is_long(metafunc.config) else FAST
    if "kill_trial" in metafunc.fixturenames:
        metafunc.parametrize("kill_trial", range(scale.kill_trials))
    if "daemon_kill_trial" in metafunc.fixturenames:
        metafunc.parametrize("daemon_kill_trial", range(scale.daemon_kill_trials))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here not in Path(str(item.path)).parents:
            continue
        if is_long(config):
            item.add_marker(pytest.mark.timeout(LONG_TIMEOUT))
        elif item.get_closest_marker("slow") is not None:
            item.add_marker(pytest.mark.skip(reason="long form only: run with --long"))


@pytest.fixture
def scale(request: pytest.FixtureRequest) -> Scale:
    return LONG if is_long(request.config) else FAST


class Seeded(random.Random):
    """A ``random.Random`` that knows its seed, to name it in assertion messages."""

    def __init__(self, base: int, nodeid: str) -> None:
        # A string seed hashes the same in every process (unlike hash()).
        super().__init__(f"{base}:{nodeid}")
        self.label = f"seed {base} ({SEED_ENV}={base} reproduces it)"


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> Seeded:
    """This test's own random source, seeded from the base seed and the node id; the
    seed is printed, so a failing test's captured output shows it."""
    seeded = Seeded(base_seed(request.config), request.node.nodeid)
    print(f"reliability {seeded.label}")
    return seeded


@pytest.fixture
def secret_scan(sandbox: object) -> Iterator[SecretScan]:
    """Collects the output a test produced; ``check()`` asserts no secret or token is in
    it. It is also checked at teardown, so output added after the last check counts."""
    scan = SecretScan(sandbox.db_path)  # type: ignore[attr-defined]
    yield scan
    scan.check()
