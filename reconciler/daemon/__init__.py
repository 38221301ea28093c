"""The reconcile daemon behind ``reconciler run``: level-triggered passes, one at a time,
on spec changes, a drift timer, each expiry and SIGHUP; suspend and resume; systemd
notification and watchdog; Prometheus metrics and health endpoints.

``scheduling`` and ``accounting`` are pure; ``looping`` decides when passes run without
knowing what they do; ``passes`` runs one; ``service`` wires the process together.
Nothing here decides what Globus should hold: that is ``planning``'s job.
"""
