"""Who may talk to the OSC server: an allow list of IPv4 networks (``--osc-allow``).

OSC has no authentication: whoever can send a datagram to the port can play notes, change
every parameter and load patches. The server listens on 127.0.0.1 by default (only this
machine); a control surface on the network needs ``--osc-host`` and should come with
``--osc-allow CIDR[,CIDR...]``: datagrams from any other source address are then dropped
before they are parsed (counted as ``denied``) and nothing is ever sent to such an address.
Without an allow list a server on a non-loopback address warns loudly
(:func:`network_warning`).

The check is one integer AND per network on the receive thread (a flood of denied datagrams
costs no parsing).
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Iterable

from ..errors import RtCoreError

EXAMPLE = "192.168.1.0/24,10.0.0.5/32"


def parse_allow_list(text: str) -> "AccessList":
    """``"CIDR[,CIDR...]"`` (IPv4; a bare address is a /32) -> :class:`AccessList`. A bad entry is
    a one-line :class:`RtCoreError` naming it."""
    entries = [e.strip() for e in str(text).split(",")]
    if not any(entries):
        raise RtCoreError(f"--osc-allow: give IPv4 networks, e.g. --osc-allow {EXAMPLE}")
    nets = []
    for e in entries:
        if not e:
            raise RtCoreError(f"--osc-allow {text!r}: an empty entry (networks are separated by single commas)")
        try:
            net = ipaddress.ip_network(e, strict=True)
        except ValueError as exc:
            hint = ""
            try:                       # host bits set, e.g. 192.168.1.7/24: name the network meant
                hint = f" (did you mean {ipaddress.ip_network(e, strict=False)}?)"
            except ValueError:
                pass
            raise RtCoreError(f"--osc-allow: {e!r} is not an IPv4 network: {exc}{hint} (e.g. {EXAMPLE})") from None
        if net.version != 4:
            raise RtCoreError(f"--osc-allow: {e!r} is IPv6; the OSC server speaks IPv4 only (e.g. {EXAMPLE})")
        nets.append(net)
    return AccessList(nets)


class AccessList:
    """IPv4 networks whose members may send to (and get answers from) the OSC server."""

    def __init__(self, networks: Iterable[ipaddress.IPv4Network | str]) -> None:
        self.networks = tuple(ipaddress.IPv4Network(n) for n in networks)
        if not self.networks:
            raise RtCoreError("an OSC allow list needs at least one network")
        self._masks = tuple((int(n.network_address), int(n.netmask)) for n in self.networks)

    def allows(self, host: str) -> bool:
        """``host`` (a dotted-quad IPv4 address, as recvfrom gives it) is in one of the networks."""
        try:
            addr = int.from_bytes(socket.inet_aton(host), "big")
        except OSError:
            return False
        for net, mask in self._masks:        # a loop, not any(<generator>): half the cost per datagram
            if addr & mask == net:
                return True
        return False

    def __str__(self) -> str:
        return ",".join(str(n) for n in self.networks)


def is_loopback(host: str) -> bool:
    """The bound address ``host`` only hears this machine (127.0.0.0/8)."""
    try:
        return ipaddress.IPv4Address(host).is_loopback
    except ValueError:
        return False


def network_warning(host: str, port: int) -> str:
    """The warning for a server on a non-loopback address without an allow list (the session
    log gets it with a ``WARNING:`` in front, stderr with ``rtcore: warning:``)."""
    return (f"OSC listens on {host}:{port} with no --osc-allow: anyone on the network can control the "
            f"engine (play notes, change every parameter, load patches); restrict it with "
            f"--osc-allow CIDR[,CIDR...], e.g. --osc-allow {EXAMPLE}")
