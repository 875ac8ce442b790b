"""Stage 4, publish: bring a Grafana to the rendered tree through its HTTP API: plan, drift, prune."""
