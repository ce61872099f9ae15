"""Which peers may speak for someone else (X-Forwarded-For/-Proto/-Prefix/-Host).

uvicorn's default trusts X-Forwarded-For from 127.0.0.1, so any local process (or a proxy that
does not strip the header) could choose the IP the login throttle counts. Here nothing is
trusted unless LOGGER_TRUSTED_PROXIES names it, and from an untrusted peer every X-Forwarded-*
header is removed before NiceGUI (which honours X-Forwarded-Prefix in its URLs) or socket.io
(which honours X-Forwarded-Host in its origin check) can read it."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """'10.0.0.1, 192.168.0.0/16, ::1' -> networks; raises ValueError naming a bad entry."""
    networks = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"LOGGER_TRUSTED_PROXIES: {part!r} is not an IP address or CIDR network") from None
    return tuple(networks)


class TrustedProxies:
    def __init__(self, spec: str = ""):
        self.networks = parse_networks(spec)
        # Peers repeat (one proxy, a few clients): remember each decision.
        self.trusts = lru_cache(maxsize=4096)(self._trusts)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def _trusts(self, host: str | None) -> bool:
        if not host or not self.networks:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in net for net in self.networks)

    def client_from(self, peer: str, forwarded_for: str) -> str:
        """The first address, from the right, that is not one of our proxies (the client as the
        outermost trusted proxy saw it). Entries left of it were written by the client itself."""
        client = peer
        for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
            client = hop
            if not self.trusts(hop):
                break
        return client
