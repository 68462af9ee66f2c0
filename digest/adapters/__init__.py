"""Adapters to the outside (database, mail transports, rate limit, broker). May import digest.core only."""
