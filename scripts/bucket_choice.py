#!/usr/bin/env python3
"""How a new key's bucket is chosen, simulated: the share of keys that
live in their second bucket (whose lookups read a second cache line) and
the keys a table filled to capacity refuses, for the table's rule and for
first-bucket preferences.

The table (src/table.rs) has 5/2 slots of 64 bits per unit of capacity,
four to a bucket; each key hashes to two distinct buckets. Rules:

- `balance` (the table's): the bucket with more free slots, the first on
  a tie.
- an integer T: the first bucket while it has at least T free slots,
  else as `balance`.

Usage: scripts/bucket_choice.py CAPACITY FILLS RULE[,RULE...]
       scripts/bucket_choice.py 1000000 8 balance,3
"""

import random
import sys

SLOTS = 4
PER, OF = 5, 2
LOADS = (0.5, 0.95, 1.0)


def fill(capacity, rule, seed):
    """One fill to capacity: {load: (share in second bucket, refused so far)}."""
    rnd = random.Random(seed)
    slots = -(-capacity * PER // OF)  # rounded up, as the table does
    buckets = max(2, -(-slots // SLOTS))
    used = [0] * buckets
    second = placed = refused = 0
    marks = {int(capacity * load): load for load in LOADS}
    out = {}
    for i in range(1, capacity + 1):
        a = rnd.randrange(buckets)
        b = rnd.randrange(buckets)
        if b == a:
            b = (a + 1) % buckets
        free_a, free_b = SLOTS - used[a], SLOTS - used[b]
        if free_a == 0 and free_b == 0:
            refused += 1
        else:
            if rule != "balance" and free_a >= rule:
                first = True
            else:
                first = free_a >= free_b
            if first:
                used[a] += 1
            else:
                used[b] += 1
                second += 1
            placed += 1
        if i in marks:
            out[marks[i]] = (second / placed, refused)
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    capacity, fills = int(sys.argv[1]), int(sys.argv[2])
    rules = [r if r == "balance" else int(r) for r in sys.argv[3].split(",")]
    for rule in rules:
        runs = [fill(capacity, rule, seed) for seed in range(fills)]
        for load in LOADS:
            share = sum(r[load][0] for r in runs) / fills
            refused = [r[load][1] for r in runs]
            print(f"rule {rule}, {load:.0%} full: {share:.3f} of keys in their second bucket; refused per fill {refused}")


if __name__ == "__main__":
    main()
