"""Which companies a replica should hold, given who is alive and who holds what now. Pure.

Every replica works the same answer out from the same view: a fair share is `ceil(companies / replicas)`; a
replica keeps what it holds up to its share (so nothing moves while the cluster is stable), gives up the rest,
and reaches for companies nobody holds until it has its share. Replicas try the free companies in an order of
their own (a hash of their id with the company), so several joining at once mostly reach for different ones;
the store settles any race (`acquire` gives each company to one replica).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Mapping, Sequence


def fair_share(companies: int, replicas: int) -> int:
    return math.ceil(companies / max(1, replicas))


def wanted(me: str, configured: Sequence[str], members: Collection[str], owners: Mapping[str, str]) -> list[str]:
    """The companies `me` should hold after this round: what it keeps of its own, then free ones up to its share.
    `owners` maps each company whose lease still runs to its holder."""
    share = fair_share(len(configured), len({*members, me}))
    mine = [company for company in configured if owners.get(company) == me][:share]
    free = sorted((c for c in configured if c not in owners), key=lambda company: _order(me, company))
    return mine + free[: max(0, share - len(mine))]


def _order(me: str, company: str) -> bytes:
    return hashlib.blake2b(f"{me}\0{company}".encode(), digest_size=8).digest()
