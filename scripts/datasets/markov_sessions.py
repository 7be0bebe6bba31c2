#!/usr/bin/env python3
"""A session log of the shape issue 16 describes (sessions given, no users, timestamps relative to the
session start, a day per session; ~12k view events over ~7k items), from a seeded Markov chain whose
next item is predictable (each item has two likely successors), so neighbourhood methods do well.

  markov_sessions.py OUT [--seed S] [--items N] [--events N] [--days D] [--legacy]

Writes OUT/events.csv `session_id,date,ts,item_id` (ts in ms from the session start). --legacy
writes the same sessions in the older layout the previous disco-ingest needed instead
(`user_id,session_id,ts,type,item_id`, user = session, absolute ms), for before/after comparisons.
"""
import argparse, os, random, bisect

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--seed", type=int, default=7)
ap.add_argument("--items", type=int, default=7000)
ap.add_argument("--events", type=int, default=12000)
ap.add_argument("--days", type=int, default=30)
ap.add_argument("--legacy", action="store_true")
a = ap.parse_args()
rng = random.Random(a.seed)
n = a.items
# Zipf-like popularity for session starts and random jumps
w = [1.0 / (i + 1) ** 0.8 for i in range(n)]
cum = []
s = 0.0
for x in w:
    s += x
    cum.append(s)
def pop_item():
    return bisect.bisect_left(cum, rng.random() * s)
succ = [(rng.randrange(n), rng.randrange(n)) for _ in range(n)]
perm = list(range(n))
rng.shuffle(perm)  # item ids not in popularity order
rows = []
sid = 0
base = 1462060800000  # 2016-05-01 UTC
while len(rows) < a.events:
    sid += 1
    day = int(rng.random() * a.days)
    length = 2 + int(rng.expovariate(1 / 2.5))
    it = pop_item()
    t = 0
    for _ in range(length):
        rows.append((sid, day, t, perm[it]))
        r = rng.random()
        it = succ[it][0] if r < 0.55 else succ[it][1] if r < 0.8 else pop_item()
        t += int(rng.expovariate(1 / 40000.0)) + 1000
os.makedirs(a.out, exist_ok=True)
rows.sort(key=lambda r: (r[1], r[0], r[2]))
with open(os.path.join(a.out, "events.csv"), "w") as f:
    if a.legacy:
        f.write("user_id,session_id,ts,type,item_id\n")
        for sid_, day, t, it in rows:
            ts = base + day * 86400000 + (sid_ % 1000) * 60000 + t
            f.write(f"s{sid_},s{sid_},{ts},view,i{it}\n")
    else:
        f.write("session_id,date,ts,item_id\n")
        for sid_, day, t, it in rows:
            d = 1 + day
            # May 2016 has 31 days; keep days in May/June
            date = f"2016-05-{d:02d}" if d <= 31 else f"2016-06-{d - 31:02d}"
            f.write(f"s{sid_},{date},{t},i{it}\n")
