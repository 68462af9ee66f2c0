"""Shared fixtures: databases (fixtures_db) and a real SMTP server on loopback."""

import ssl

import pytest
from smtpserver import self_signed_cert, start_server

pytest_plugins = ["fixtures_db"]


@pytest.fixture
def smtp_server():
    """A strict SMTP server on loopback; `.messages` holds what it accepted, byte for byte."""
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def smtp_tls_server(tmp_path):
    """The same, requiring STARTTLS and AUTH (user digest, password s3cret)."""
    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = start_server(tls_context=context, user="digest", password="s3cret")
    yield server
    server.stop()


@pytest.fixture
def smtps_server(tmp_path):
    """Implicit TLS from the first byte (smtps://), with AUTH (user digest, password s3cret)."""
    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = start_server(implicit_tls_context=context, user="digest", password="s3cret")
    yield server
    server.stop()
