#!/usr/bin/env python3
"""Prints bench/run.sh results as a Markdown table: medians over rounds, and each value's ratio to the best peer.

Input lines: "<contender> <metric> <value>". Peers are nginx, haproxy and caddy; "direct" is the backend alone.
"""
import statistics
import sys
from collections import defaultdict

PEERS = ["nginx", "haproxy", "caddy"]
ORDER = ["direct", "nginx", "haproxy", "caddy", "portcullis"]
# metric, heading, higher is better
METRICS = [
    ("h2_rps", "h2 req/s", True),
    ("h2_mean_ms", "h2 mean ms", False),
    ("h2_max_ms", "h2 max ms", False),
    ("h2_fail", "h2 failed", False),
    ("h1_rps", "h1 req/s", True),
    ("h1_p50_ms", "h1 p50 ms", False),
    ("h1_p99_ms", "h1 p99 ms", False),
    ("h1_errors", "h1 errors", False),
    ("hs_new_us", "CPU µs / full handshake", False),
    ("hs_reuse_us", "CPU µs / resumed handshake", False),
    ("rss_peak_mb", "peak RSS MB", False),
    ("rss_steady_mb", "steady RSS MB", False),
]


def main():
    path, rounds, duration = sys.argv[1], sys.argv[2], sys.argv[3]
    values = defaultdict(list)
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                try:
                    values[(parts[0], parts[1])].append(float(parts[2]))
                except ValueError:
                    pass
    med = {k: statistics.median(v) for k, v in values.items() if v}
    names = [n for n in ORDER if any(k[0] == n for k in med)]
    print(f"Medians of {rounds} round(s), {duration} s per load step; in brackets: ratio to the best peer "
          f"(nginx, HAProxy, Caddy) for that metric.\n")
    print("| metric | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for metric, heading, higher in METRICS:
        peer_vals = [med[(p, metric)] for p in PEERS if (p, metric) in med]
        best = (max(peer_vals) if higher else min(peer_vals)) if peer_vals else None
        cells = []
        for n in names:
            v = med.get((n, metric))
            if v is None:
                cells.append("–")
                continue
            text = f"{v:,.0f}" if v >= 100 or float(v).is_integer() else f"{v:.2f}"
            if best and n != "direct" and not metric.endswith(("_fail", "_errors")):
                text += f" ({v / best:.2f}×)"
            cells.append(text)
        print(f"| {heading} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
