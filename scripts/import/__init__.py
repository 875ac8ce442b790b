"""Import: a Grafana dashboard (a JSON file, a directory of them, or one read from Grafana) into Python."""
