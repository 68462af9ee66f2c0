"""digest: per-subscriber email digests."""

__version__ = "0.1.0"
