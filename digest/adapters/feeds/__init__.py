"""Feeds from outside: fetched over http(s) with every address vetted (fetch, addresses), parsed (parse)."""
