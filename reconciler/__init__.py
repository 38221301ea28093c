"""reconciler: make Globus access rules, directories and group memberships match YAML specs.

The package is layered: ``spec`` reads files, ``core`` and ``planning`` decide (pure),
``globus`` and ``executing`` act, ``cli`` and ``daemon`` drive. ``sandbox`` is an
emulator of the Globus services used for trying specs and for every integration test.
"""

__version__ = "0.1.0"
