"""The rate limiter against the sandbox's metering of Globus's window (``transfer_rate_limit``
20: 200 Transfer requests per 10 s): two processes of one client sharing the budget file
converge more than a window's worth of work with no 429; a 429 that comes anyway holds
every request of the process for its Retry-After; a new process makes one token request."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.credentials import SANDBOX_CLIENT_ID, sandbox_credentials
from reconciler.globus.connecting import GlobusClients, connect
from reconciler.globus.throttling import RateLimiter, budget_file, compute_peak
from reconciler.reconciling import apply_plan, fetch_plan
from reconciler.sandbox.seeding import seed_from_intent
from reconciler.spec import load_spec_set

COLLECTIONS = ("e56c36e4-1063-11e6-a747-00000000000a", "e56c36e4-1063-11e6-a747-00000000000b")


def write_specs(directory: Path, collection: str, name: str, grants: int) -> Path:
    directory.mkdir(parents=True)
    lines = [
        "collections:",
        f"  {name}:",
        f"    id: {collection}",
        "    root: /disthome/",
        "distributions:",
        f"  - name: {name}",
        f"    collection: {name}",
        f"    path: /disthome/{name}/{{identity_id}}/",
        "    grants:",
    ]
    for i in range(grants):
        lines += [f"      - identity: {name}-{i}@example.org", "        expires: 2031-01-01"]
    (directory / "specs.yaml").write_text("\n".join(lines) + "\n")
    return directory


def clients_sharing(budget: Path) -> GlobusClients:
    """What a process of the sandbox client builds (``targeting.shared_limiter``)."""
    return connect(sandbox_credentials(), limiter=RateLimiter(20.0, shared=budget))


def test_two_processes_sharing_the_budget_see_no_429(
    sandbox: Any, globus_env: dict[str, str], tmp_path: Path
) -> None:
    intents = []
    for index, collection in enumerate(COLLECTIONS):
        specs = write_specs(tmp_path / f"specs{index}", collection, f"d{index}", 52)
        loaded = load_spec_set([specs], now=datetime.now(UTC))
        assert loaded.intent is not None, loaded.diagnostics
        seed_from_intent(sandbox.control, loaded.intent, client_id=SANDBOX_CLIENT_ID)
        intents.append(loaded.intent)
    sandbox.control.update_settings(transfer_rate_limit=20)
    mark = sandbox.control.request_log()["next"]
    budget = budget_file(tmp_path / "state", SANDBOX_CLIENT_ID)

    def converge(intent: Any) -> bool:
        clients = clients_sharing(budget)
        try:
            plan, _ = fetch_plan(clients, intent, now=datetime.now(UTC))
            return apply_plan(clients, plan, concurrency=16).ok
        finally:
            clients.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(converge, intents)) == [True, True]

    entries = sandbox.control.request_log(mark)["entries"]
    statuses = Counter(e["status"] for e in entries)
    transfer = [
        datetime.fromisoformat(e["time"]).timestamp() for e in entries if e["service"] == "transfer"
    ]
    assert len(transfer) > 200  # more than one window holds
    assert statuses[429] == 0, statuses
    assert compute_peak(transfer, 10.0) <= 200
    assert len([e for e in entries if "oauth2/token" in e["path"]]) == 2  # one per process


def test_a_429_holds_every_request_of_the_process_for_its_retry_after(
    sandbox: Any, globus_env: dict[str, str], tmp_path: Path
) -> None:
    clients = connect(sandbox_credentials())
    clients.transfer.get_submission_id()  # the token, first
    sandbox.control.inject_fault(
        path="/submission_id", status=429, code="RequestLimitExceeded", retry_after=2, times=1
    )
    mark = sandbox.control.request_log()["next"]
    refused = threading.Event()

    def first() -> None:
        clients.transfer.get_submission_id()  # refused once, then retried by the SDK

    def second() -> None:
        refused.wait(10)
        clients.transfer.get_submission_id()  # another request, sent after the refusal

    def watch() -> None:
        while not any(e["status"] == 429 for e in sandbox.control.request_log(mark)["entries"]):
            time.sleep(0.005)
        refused.set()

    with ThreadPoolExecutor(max_workers=3) as pool:
        for future in [pool.submit(f) for f in (watch, first, second)]:
            future.result(timeout=30)
    clients.close()

    entries = sandbox.control.request_log(mark)["entries"]
    times = [(e["status"], datetime.fromisoformat(e["time"]).timestamp()) for e in entries]
    [refused_at] = [t for status, t in times if status == 429]
    answered = [t for status, t in times if status == 200]
    assert len(answered) == 2
    # Both the retry and the other request waited for the Retry-After (2 s; ms in the log).
    assert all(t - refused_at >= 1.9 for t in answered)
