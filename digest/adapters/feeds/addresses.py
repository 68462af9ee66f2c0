"""Which addresses a feed may be fetched from: a source URL is outside input, so by default only public ones.

Loopback, private (RFC 1918, unique local), link-local (with the cloud metadata address 169.254.169.254),
shared (CGNAT, 100.64/10, where some clouds keep their metadata), multicast, reserved, documentation and
unspecified addresses are refused, IPv4 and IPv6 alike, and IPv6 forms that carry an IPv4 address (mapped,
6to4, NAT64) are judged by the address they carry. The check runs on the address a connection is made to,
after resolving, so a name that resolves to 127.0.0.1, or changes its answer between two looks, gains nothing.
"""

from __future__ import annotations

import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(Exception):
    """The host is, or resolves to, an address a source may not reach."""


def _carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def why_refused(address: IPAddress) -> str | None:
    """Why a feed may not be fetched from `address` without the source's allowance; None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = _carried_ipv4(address)
        if carried is not None:
            return why_refused(carried)
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (the cloud metadata service lives there)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified or address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "an address that is not public (shared, documentation or benchmark range)"
    return None


def vetted_addresses(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The addresses `host` resolves to, every one of them allowed; AddressRefused when any is not.

    All of them, not the first: a name that resolves to a public and a private address could otherwise be
    reached on the private one by a retry."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(entry[4][0]) for entry in found))
    if not allow_private:
        for text in addresses:
            reason = why_refused(ipaddress.ip_address(text.split("%", 1)[0]))
            if reason is not None:
                named = f"{host} is {reason}" if host == text else f"{host} resolves to {text}, {reason}"
                raise AddressRefused(f"{named}: refused unless an admin allows private addresses for this source")
    return addresses
