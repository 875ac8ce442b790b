"""Test doubles and clients shared by the tests and the benchmarks: import them, never conftest.py."""
