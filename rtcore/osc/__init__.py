"""OSC control of a live :class:`~rtcore.session.Session` over UDP (python-osc for the wire format).

``OscServer(session, host="127.0.0.1", port=9000).start()``; every address is in
:data:`rtcore.osc.addresses.ADDRESSES` (the README's OSC table is generated from it).
"""
from __future__ import annotations

from .access import AccessList, parse_allow_list
from .addresses import ADDRESSES, OUTGOING, STATS_FIELDS
from .server import COUNTERS, DEFAULT_HOST, DEFAULT_PORT, OscServer
from .wire import ntp_to_unix_ns, unix_ns_to_ntp

__all__ = ["OscServer", "AccessList", "parse_allow_list", "ADDRESSES", "OUTGOING", "STATS_FIELDS", "COUNTERS",
           "DEFAULT_HOST", "DEFAULT_PORT", "ntp_to_unix_ns", "unix_ns_to_ntp"]
