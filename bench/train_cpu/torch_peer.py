#!/usr/bin/env python3
"""PyTorch (Python) peer of `disco-train bench`: the same model, loss, optimiser and batches.

Reads the batch file written by `disco-train bench --dump FILE` and trains for a fixed number of
steps, printing events/s (real, non-padding events per second of wall time after warm-up).

  python3 torch_peer.py --batches FILE --steps 50 --warmup 5 --threads 2 [--lr 0.003]
"""
import argparse
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_batches(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:8] != b"DSCBATCH":
        sys.exit(f"{path}: not a disco batch file")
    off = 8
    nb, n_items, d, h, n_types = struct.unpack_from("<5q", raw, off)
    off += 40
    batches = []

    def take(count, dtype):
        nonlocal off
        a = np.frombuffer(raw, dtype=dtype, count=count, offset=off)
        off += a.nbytes
        return torch.from_numpy(a.copy())

    for _ in range(nb):
        B, T, n_next, n_valid, events = struct.unpack_from("<5q", raw, off)
        off += 40
        item = take(B * T, np.int64).view(B, T)
        typ = take(B * T, np.int64).view(B, T)
        next_pos = take(n_next, np.int64)
        next_target = take(n_next, np.int64)
        valid_pos = take(n_valid, np.int64)
        prop = take(n_valid, np.float32)
        batches.append((item, typ, next_pos, next_target, valid_pos, prop, events))
    return n_items, d, h, n_types, batches


class Net(nn.Module):
    def __init__(self, n, d, h, n_types):
        super().__init__()
        self.item_emb = nn.Embedding(n, d)
        self.type_emb = nn.Embedding(n_types, d)
        self.lstm = nn.LSTM(d, h, num_layers=1, batch_first=True)
        self.out_proj = nn.Linear(h, d)
        self.prop = nn.Linear(h, 1)
        with torch.no_grad():
            self.item_emb.weight.normal_(0.0, 0.1)
            self.type_emb.weight.normal_(0.0, 0.1)


def loss_fn(net, b, prop_weight):
    item, typ, next_pos, next_target, valid_pos, prop, _ = b
    x = net.item_emb(item) + net.type_emb(typ)
    H = net.lstm(x)[0].reshape(-1, net.lstm.hidden_size)
    U = net.out_proj(H.index_select(0, next_pos))
    nxt = F.cross_entropy(U @ net.item_emb.weight.t(), next_target)
    pl = net.prop(H.index_select(0, valid_pos)).squeeze(1)
    pr = F.binary_cross_entropy_with_logits(pl, prop)
    return nxt + prop_weight * pr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", required=True)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--prop-weight", type=float, default=0.2)
    ap.add_argument("--clip-grad", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    n, d, h, n_types, batches = read_batches(a.batches)
    net = Net(n, d, h, n_types)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    events = 0
    t0 = time.perf_counter()
    for s in range(a.warmup + a.steps):
        if s == a.warmup:
            t0 = time.perf_counter()
        b = batches[s % len(batches)]
        opt.zero_grad()
        loss = loss_fn(net, b, a.prop_weight)
        loss.backward()
        if a.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_(net.parameters(), a.clip_grad)
        opt.step()
        loss.item()
        if s >= a.warmup:
            events += b[6]
    secs = time.perf_counter() - t0
    print(f"pytorch-python: {a.steps} steps (+{a.warmup} warmup), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads: {events / secs:.0f} events/s")


if __name__ == "__main__":
    main()
