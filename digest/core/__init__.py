"""The pure core, plain data in and out: any layer may import it; it imports only digest.core and no-I/O libraries."""
