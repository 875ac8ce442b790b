"""Stage 3, verify: run every rendered query against a live app and a real Prometheus; and the alert tests."""
