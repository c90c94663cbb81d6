#!/usr/bin/env python3
"""Prints bench/run.sh results as a Markdown table: medians over rounds, and each value's ratio to the best peer.

Input lines: "<contender> <metric> <value>". Peers are nginx, haproxy and caddy; "direct" is the backend alone.
A value "failed" marks a step that gave no result for that contender in that round: a cell with no number shows
"failed", one with numbers from some rounds only says how many failed. "note_<step> <text>" lines (the first
error of a failed step) are listed under the table. Rows nobody has a value for are left out.
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
    ("grpc_unary_rps", "gRPC unary req/s", True),
    ("grpc_unary_p99_ms", "gRPC unary p99 ms", False),
    ("grpc_unary_errors", "gRPC unary errors", False),
    ("grpc_unary_client_cpu", "gRPC unary: load client CPU %", False),
    ("grpc_stream_msgs", "gRPC server-stream msg/s", True),
    ("grpc_stream_p99_ms", "gRPC stream p99 ms (whole call)", False),
    ("grpc_stream_errors", "gRPC stream errors", False),
    ("grpc_stream_client_cpu", "gRPC stream: load client CPU %", False),
    ("ws_msgs", "WebSocket msg/s", True),
    ("ws_p99_ms", "WebSocket p99 ms", False),
    ("ws_errors", "WebSocket errors", False),
    ("ws_client_cpu", "WebSocket: load client CPU %", False),
    ("h2_alloc_kb", "alloc KB / h2 request", False),
    ("h1_alloc_kb", "alloc KB / h1 request", False),
    ("grpc_unary_alloc_kb", "alloc KB / gRPC unary call", False),
    ("grpc_stream_alloc_kb", "alloc KB / gRPC stream message", False),
    ("ws_alloc_kb", "alloc KB / WebSocket message", False),
    ("rss_peak_mb", "peak RSS MB", False),
    ("rss_steady_mb", "steady RSS MB", False),
]


def main():
    path, rounds, duration = sys.argv[1], sys.argv[2], sys.argv[3]
    values = defaultdict(list)
    failed = defaultdict(int)
    notes = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3:
                continue
            name, metric, value = parts
            if metric.startswith("note_"):
                notes.setdefault((name, metric[5:]), value)
            elif value == "failed":
                failed[(name, metric)] += 1
            else:
                try:
                    values[(name, metric)].append(float(value))
                except ValueError:
                    pass
    med = {k: statistics.median(v) for k, v in values.items() if v}
    seen = set(med) | set(failed)
    names = [n for n in ORDER if any(k[0] == n for k in seen)]
    print(f"Medians of {rounds} round(s), {duration} s per load step; in brackets: ratio to the best peer "
          f"(nginx, HAProxy, Caddy) for that metric.\n")
    print("| metric | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for metric, heading, higher in METRICS:
        if not any((n, metric) in seen for n in names):
            continue
        peer_vals = [med[(p, metric)] for p in PEERS if (p, metric) in med]
        best = (max(peer_vals) if higher else min(peer_vals)) if peer_vals else None
        cells = []
        for n in names:
            v = med.get((n, metric))
            if v is None:
                cells.append("failed" if failed.get((n, metric)) else "–")
                continue
            text = f"{v:,.0f}" if v >= 100 or float(v).is_integer() else f"{v:.2f}"
            if best and n != "direct" and not metric.endswith(("_fail", "_errors", "_cpu")):
                text += f" ({v / best:.2f}×)"
            if failed.get((n, metric)):
                text += f" ({failed[(n, metric)]} failed)"
            cells.append(text)
        print(f"| {heading} | " + " | ".join(cells) + " |")
    if notes:
        print("\nFailed steps (first error):")
        for (name, step), text in sorted(notes.items()):
            print(f"- {name} {step}: `{text}`")


if __name__ == "__main__":
    main()
