"""What every stage shares and no stage owns: paths, managed processes, external tools, exit codes, and
the alert rule cases lint requires and verify runs."""
