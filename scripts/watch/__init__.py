"""`make watch`: re-render, lint and publish to a personal preview on every save of a definitions module."""
