"""The only package that imports ``globus_sdk``.

It builds clients (``connecting``), reads live state (``reading``, ``identities``),
performs plan actions (``acting``) and translates SDK errors into
``reconciler.errors.GlobusError`` (``translating``). Every HTTP attempt, retries
included, passes through one shared token bucket (``throttling``).
"""
