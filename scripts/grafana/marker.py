"""The key publish writes into every dashboard it saves through the legacy API (scripts/publish/compare.py
says what it holds); whoever reads a dashboard back as content (import) drops it."""

MARKER_KEY = "__publish"
