#!/usr/bin/python3
"""HTTP/2 client probes for ProxyCoreIT (Debian's python3-h2), over h2c with prior knowledge (RFC 9113 §3.3).

Usage: h2core.py MODE PORT AUTHORITY PATH [N]
  host-conflict     one GET whose host field differs from its :authority (RFC 9113 §8.3.1); prints "status CODE"
                    (or "reset CODE", or "timeout" after 10 s), then waits up to N s for the connection's idle
                    timeout: "goaway CODE" or "no goaway"
  tunnel-late-data  a stream window of 16 bytes, then an extended CONNECT (RFC 8441) to PATH; after its "status
                    CODE", one byte of DATA every 50 ms for N s (the response data is never acknowledged, so the
                    gateway cannot send the tunnel's end); then a GET to /ok on the same connection: its "status
                    CODE", or "goaway CODE" / "closed" when the connection died
Every line printed is an event, in order; the script exits 0 unless it could not connect.
"""
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.settings


def connect(port, window=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    c = h2.connection.H2Connection(config=h2.config.H2Configuration(
        client_side=True, header_encoding="utf-8", validate_outbound_headers=False,
        normalize_outbound_headers=False, validate_inbound_headers=False))
    c.initiate_connection()
    if window is not None:
        c.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
    s.sendall(c.data_to_send())
    return s, c


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
                flush(s, c)
                return seen
        flush(s, c)
    return seen


def flush(s, c):
    out = c.data_to_send()
    if out:
        try:
            s.sendall(out)
        except OSError:
            pass


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


def ended(sid):
    return lambda e: (getattr(e, "stream_id", None) == sid and isinstance(
        e, (h2.events.StreamEnded, h2.events.StreamReset, h2.events.ResponseReceived))) or isinstance(
        e, h2.events.ConnectionTerminated) or e == "closed"


def host_conflict(port, authority, path, n):
    s, c = connect(port)
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, [(":method", "GET"), (":scheme", "http"), (":authority", authority), (":path", path),
                         ("host", "other.example")], end_stream=True)
    flush(s, c)
    events = pump(s, c, ended(sid), time.time() + 10)
    if not any(ended(sid)(e) for e in events):
        events.append("timeout")
    events += pump(s, c, lambda e: isinstance(e, h2.events.ConnectionTerminated) or e == "closed",
                   time.time() + n)
    if not any(isinstance(e, h2.events.ConnectionTerminated) for e in events):
        events.append("no goaway")
    return events


def tunnel_late_data(port, authority, path, n):
    s, c = connect(port, window=16)
    events = pump(s, c, lambda e: isinstance(e, h2.events.RemoteSettingsChanged), time.time() + 10)
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                         (":authority", authority), (":path", path)], end_stream=False)
    flush(s, c)
    events += pump(s, c, ended(sid), time.time() + 10)
    dead = lambda: any(isinstance(e, h2.events.ConnectionTerminated) or e == "closed" for e in events)
    deadline = time.time() + n
    while time.time() < deadline and not dead():
        try:
            c.send_data(sid, b"x")
        except Exception:  # the stream ended: the tunnel is over
            break
        flush(s, c)
        events += pump(s, c, lambda e: isinstance(e, h2.events.ConnectionTerminated) or e == "closed",
                       time.time() + 0.05)
    if not dead():
        get = c.get_next_available_stream_id()
        c.send_headers(get, [(":method", "GET"), (":scheme", "http"), (":authority", authority),
                             (":path", "/ok")], end_stream=True)
        flush(s, c)
        events += pump(s, c, lambda e: (isinstance(e, h2.events.ResponseReceived) and e.stream_id == get)
                       or isinstance(e, h2.events.ConnectionTerminated) or e == "closed", time.time() + 10)
    s.close()
    return events


def main():
    mode, port, authority, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    if mode == "host-conflict":
        events = host_conflict(port, authority, path, n)
    elif mode == "tunnel-late-data":
        events = tunnel_late_data(port, authority, path, n)
    else:
        raise SystemExit("unknown mode " + mode)
    for e in events:
        d = describe(e) if not isinstance(e, str) or e == "closed" else e
        if d:
            print(d, flush=True)


if __name__ == "__main__":
    main()
