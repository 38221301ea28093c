"""The Globus sandbox: a wire-level emulator of the Transfer, Groups and Auth calls the
reconciler makes, served over real HTTP so globus-sdk and globus-cli talk to it through
``GLOBUS_SDK_SERVICE_URL_*``. It must never import globus_sdk (an import-linter
contract), so it cannot drift into sharing code with the client it emulates.

Modules, from the bottom up: ``store`` (the world in SQLite), ``settings`` and ``clock``
(per-world switches and sandbox time), ``routing`` (request/response/error types),
``auth``, ``groups``, ``transfer_endpoints``, ``transfer_acl``, ``transfer_fs``,
``transfer_submission``, ``transfer_task_lists`` and ``transfer_monitoring`` (the emulated
APIs) over ``transfer_tasks`` (task records), ``transfer_running`` (a task's effects) and
``transfer_scheduling`` (when tasks start and finish), ``settling`` (time-driven
changes), ``steering``, ``dumping`` and ``downloads`` (control-plane operations) under
``control`` (the ``/_sandbox/`` routes), ``faults`` and ``request_log`` (server memory),
``app`` (one request in, one response out), ``server`` (HTTP plumbing), ``embedded``
(run it in-process), ``control_client`` and ``local_control`` (drive it over HTTP or on
a database file), ``seeding`` (seed from an Intent) and ``showing`` (render for humans).
See docs/sandbox.md.
"""
