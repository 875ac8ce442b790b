"""Stage 1, render: import the definitions in dashboards/ and write the rendered tree (rendered/layout.py)."""
