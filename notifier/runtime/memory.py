"""The cyclic garbage collector, set for a daemon that holds tens of thousands of long-lived, acyclic objects."""

from __future__ import annotations

import gc

# Net allocations between two young collections (Python's default is 700). A poll cycle of 50,000 jobs
# allocates some 300,000 objects that outlive a young collection (jobs, events); at the default, the older
# generations are collected so often that full collections run several times a cycle, each walking every
# tracked job: a fifth of the cycle's CPU, growing faster than the fleet.
YOUNG = 20_000


def settle_collector() -> None:
    """What exists now (modules, rules, templates) lives as long as the process: frozen, so full collections no
    longer walk it; and collections run less often. Call once the daemon is built; nothing here forms cycles
    that would need collecting sooner."""
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, old)
