"""Pure renderers: plans and apply results as text, Markdown and JSON. No I/O here."""
