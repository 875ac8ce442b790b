"""Stage 2, lint: static checks of the rendered tree (structure, best practice, query syntax, app metrics)."""
