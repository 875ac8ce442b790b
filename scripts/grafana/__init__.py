"""The Grafana connection every stage that talks to Grafana shares: target config, retrying client, errors."""
