"""Adapters to the outside (database, mail transports, rate limit): import digest.core only; higher layers use them."""
