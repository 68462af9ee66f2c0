"""Shared fixtures: databases (fixtures_db) and a real SMTP server on loopback."""

pytest_plugins = ["fixtures_db"]
