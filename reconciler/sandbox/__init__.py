"""The Globus sandbox: a wire-level emulator of the Transfer, Groups and Auth calls the
reconciler makes, served over real HTTP so globus-sdk and globus-cli talk to it through
``GLOBUS_SDK_SERVICE_URL_*``. It must never import globus_sdk (an import-linter
contract), so it cannot drift into sharing code with the client it emulates.

Modules, from the bottom up: ``store`` (the world in SQLite), ``settings`` and ``clock``
(per-world switches and sandbox time), ``routing`` (request/response/error types),
``auth``, ``groups``, ``transfer_endpoints``, ``transfer_acl``, ``transfer_fs`` and
``transfer_tasks`` (the emulated APIs), ``settling`` (time-driven changes), ``control``
(the ``/_sandbox/`` control plane), ``faults`` and ``request_log`` (server memory),
``app`` (one request in, one response out), ``server`` (HTTP plumbing), ``embedded``
(run it in-process), ``control_client`` and ``local_control`` (drive it over HTTP or on
a database file), ``seeding`` (seed from an Intent) and ``showing`` (render for humans).
See docs/sandbox.md.
"""
