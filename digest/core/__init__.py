"""The pure core: plain data in, plain data out. Imports only digest.core (never storage, web, Celery or click)."""
