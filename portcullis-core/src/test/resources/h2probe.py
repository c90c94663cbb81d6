#!/usr/bin/python3
"""HTTP/2 probes for the attack tests (Debian's python3-h2), over h2c with prior knowledge (RFC 9113 §3.3).

Usage: h2probe.py MODE PORT AUTHORITY PATH [N]
  request      one GET; prints "status CODE" (or "reset CODE")
  idle         one GET, then waits up to N s: prints "status CODE", then "goaway CODE" or "no goaway"
  rapid-reset  N streams opened and reset (HEADERS + RST_STREAM) in one write, then one GET: prints
               "goaway CODE" if the server sent one, and the GET's "status CODE"
  slow-body    a POST whose body never comes (N s at most): prints "status CODE", "reset CODE" or "timeout"
Every line printed is an event, in order; the script exits 0 unless it could not connect.
"""
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    c = h2.connection.H2Connection(config=h2.config.H2Configuration(
        client_side=True, header_encoding="utf-8", validate_outbound_headers=False,
        normalize_outbound_headers=False))
    c.initiate_connection()
    s.sendall(c.data_to_send())
    return s, c


def headers(authority, path, method="GET"):
    return [(":method", method), (":scheme", "http"), (":authority", authority), (":path", path)]


def pump(s, c, until, deadline):
    """Reads events until until(event) is true or the deadline passes; returns the events seen."""
    seen = []
    while time.time() < deadline:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionError:
            seen.append("closed")
            break
        if not data:
            seen.append("closed")
            break
        for e in c.receive_data(data):
            seen.append(e)
            if until(e):
                out = c.data_to_send()
                if out:
                    s.sendall(out)
                return seen
        out = c.data_to_send()
        if out:
            s.sendall(out)
    return seen


def describe(e):
    if isinstance(e, h2.events.ResponseReceived):
        return "status " + dict(e.headers)[":status"]
    if isinstance(e, h2.events.StreamReset):
        return "reset %d" % e.error_code
    if isinstance(e, h2.events.ConnectionTerminated):
        return "goaway %d" % e.error_code
    if e == "closed":
        return "closed"
    return None


def get(s, c, authority, path, seconds=10):
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, headers(authority, path), end_stream=True)
    s.sendall(c.data_to_send())
    done = lambda e: (getattr(e, "stream_id", None) == sid and isinstance(
        e, (h2.events.StreamEnded, h2.events.StreamReset))) or isinstance(e, h2.events.ConnectionTerminated)
    return pump(s, c, done, time.time() + seconds)


def main():
    mode, port, authority, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    s, c = connect(port)
    events = []
    if mode == "request":
        events = get(s, c, authority, path)
    elif mode == "idle":
        events = get(s, c, authority, path)
        events += pump(s, c, lambda e: isinstance(e, h2.events.ConnectionTerminated), time.time() + n)
        if not any(isinstance(e, h2.events.ConnectionTerminated) for e in events):
            events.append("no goaway")
    elif mode == "rapid-reset":
        for _ in range(n):
            sid = c.get_next_available_stream_id()
            c.send_headers(sid, headers(authority, path), end_stream=True)
            c.reset_stream(sid, error_code=8)  # CANCEL
        s.sendall(c.data_to_send())
        events = get(s, c, authority, path)
    elif mode == "slow-body":
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, headers(authority, path, "POST") + [("content-length", "100")], end_stream=False)
        c.send_data(sid, b"0123456789")
        s.sendall(c.data_to_send())
        done = lambda e: getattr(e, "stream_id", None) == sid and isinstance(
            e, (h2.events.StreamEnded, h2.events.StreamReset))
        events = pump(s, c, done, time.time() + n)
        if not any(done(e) for e in events):
            events.append("timeout")
    for e in events:
        d = describe(e) if not isinstance(e, str) or e == "closed" else e
        if d:
            print(d, flush=True)
    s.close()


if __name__ == "__main__":
    main()
