#!/usr/bin/python3
"""HTTP/2 probes for the attack and protocol tests (Debian's python3-h2): over h2c with prior knowledge (RFC 9113
section 3.3), or over TLS with ALPN h2 when --tls names the CA file to trust (SNI: AUTHORITY without its port).

Usage: h2probe.py [--tls CAFILE] MODE PORT AUTHORITY PATH [N]
  request      one GET; prints "status CODE" (or "reset CODE")
  idle         one GET, then waits up to N s: prints "status CODE", then "goaway CODE" or "no goaway"
  rapid-reset  N streams opened and reset (HEADERS + RST_STREAM) in one write, then one GET: prints
               "goaway CODE" if the server sent one, and the GET's "status CODE"
  slow-body    a POST whose body never comes (N s at most): prints "status CODE", "reset CODE" or "timeout"
  settings     prints "setting NAME VALUE" for each setting of the server's first SETTINGS frame
  max-streams  reads SETTINGS_MAX_CONCURRENT_STREAMS (M; N when absent), opens M POST streams
               (content-length 1, body held back) and one more, all in one write: prints "max M" (or "max none"),
               then the extra stream's fate ("extra reset CODE", "extra status CODE", "extra open" after 2 s) and
               any "goaway CODE"; then sends the M bodies and prints "served K of M" (K answered 200 within 30 s)
  made-you-reset-window  N streams, each a GET followed by WINDOW_UPDATE increment 0 on it (a stream error the
               server answers with RST_STREAM, RFC 9113 section 6.9), in one write; then waits 5 s
  made-you-reset-data    the same with a DATA frame after the GET's END_STREAM (STREAM_CLOSED, section 5.1)
               Both print "goaway CODE" / "closed" as they come, then "resets K" (RST_STREAMs received) and, if
               the connection is still open, a last GET's "status CODE"
  closed-stream-resets  one GET ("status CODE"), then N RST_STREAM frames (CANCEL) for its stream, closed by then
               (which RFC 9113 section 5.1 has the server ignore, one by one), in one write; prints "goaway CODE" /
               "closed" within 5 s, and if the connection is still open, a last GET's "after status CODE"
  continuation-flood  HEADERS without END_HEADERS, then CONTINUATION frames (16 KiB each) up to N KiB or until the
               server closes (a 64 KiB send buffer, so what is sent is close to what the server took in): prints
               "goaway CODE" / "closed" as they come, then "sent K KiB"
  big-headers  one GET carrying N KiB of headers (4 KiB each): prints "status CODE", "reset CODE", "goaway CODE"
               or "closed"
  ping-flood   N PINGs, reading nothing (a 4 KiB receive buffer): prints "sent K" (how many went out before the
  settings-flood  connection failed), then "closed" or "open" (still open 10 s later); settings-flood sends empty
               SETTINGS frames instead
  idle-stream  a POST to PATH whose body stops after 10 of 100 bytes, then a GET of PATH?neighbour on the same
               connection; prints "neighbour status CODE", then within N s "idle status CODE" / "idle reset CODE"
               (or "idle timeout"), then one more GET's "after status CODE"
  websocket    RFC 8441 extended CONNECT (":protocol websocket", sec-websocket-version 13): prints
               "connect-protocol V" (the server's SETTINGS_ENABLE_CONNECT_PROTOCOL, stopping unless 1), then
               "status CODE"; on 200 sends "?headers" and prints "headers JSON" (the echo backend's answer), sends N
               text messages and one 1 MiB binary one (masked, RFC 6455), prints "echoed K text" and
               "echoed binary BYTES" (or "mismatch ..."), then closes: "close CODE"
  early-answer a POST (content-length 10) whose body is held back until the response has ended (the server answered
               without it); prints "status CODE" and "response ended" (or "timeout"), then sends the body with
               END_STREAM and within N s prints "ping" (the server sent a PING), "reset CODE" or "quiet"
Every line printed is an event, in order; the script exits 0 unless it could not connect.
"""
import json
import os
import select
import socket
import ssl
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

import wsframes


def connect(port, authority, cafile, rcvbuf=None, sndbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if sndbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if cafile:
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.set_alpn_protocols(["h2"])
        s = ctx.wrap_socket(s, server_hostname=authority.rsplit(":", 1)[0])
        if s.selected_alpn_protocol() != "h2":
            print("alpn %s" % s.selected_alpn_protocol(), flush=True)
            sys.exit(1)
    c = h2.connection.H2Connection(config=h2.config.H2Configuration(
        client_side=True, header_encoding="utf-8", validate_outbound_headers=False,
        normalize_outbound_headers=False))
    c.initiate_connection()
    s.sendall(c.data_to_send())
    return s, c


def headers(authority, path, method="GET", scheme="http"):
    return [(":method", method), (":scheme", scheme), (":authority", authority), (":path", path)]


def raw_frame(frame_type, flags, stream_id, payload):
    """One frame as RFC 9113 section 4.1 lays it out, bypassing python3-h2's state machine."""
    return struct.pack("!I", len(payload))[1:] + bytes([frame_type, flags]) + struct.pack("!I", stream_id) + payload


def pump(s, c, until, deadline):
    """Reads events until one batch has an event for which until(event) is true, or the deadline passes; returns
    the events seen (the whole of the last batch)."""
    seen = []
    while time.time() < deadline:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        except (ConnectionError, ssl.SSLError, OSError):
            seen.append("closed")
            break
        if not data:
            seen.append("closed")
            break
        try:
            events = c.receive_data(data)
        except h2.exceptions.ProtocolError:
            seen.append("closed")
            break
        seen += events
        flush(s, c)
        if any(until(e) for e in events):
            return seen
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


def ends(sid):
    return lambda e: (getattr(e, "stream_id", None) == sid and isinstance(
        e, (h2.events.StreamEnded, h2.events.StreamReset))) or isinstance(e, h2.events.ConnectionTerminated) \
        or e == "closed"


def get(s, c, authority, path, seconds=10):
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, headers(authority, path), end_stream=True)
    s.sendall(c.data_to_send())
    return pump(s, c, ends(sid), time.time() + seconds)


def server_settings(s, c, seconds=5):
    """Waits for the server's first SETTINGS frame; returns {name: value} of what it carried."""
    for e in pump(s, c, lambda e: isinstance(e, h2.events.RemoteSettingsChanged), time.time() + seconds):
        if isinstance(e, h2.events.RemoteSettingsChanged):
            return {name(k): v.new_value for k, v in e.changed_settings.items()}
    return None


def name(code):
    try:
        return h2.settings.SettingCodes(code).name
    except ValueError:
        return "0x%x" % code


def terminal(events):
    return [d for d in (describe(e) for e in events) if d in ("closed",) or (d or "").startswith("goaway")]


def max_streams(s, c, authority, path, n):
    settings = server_settings(s, c) or {}
    m = settings.get("MAX_CONCURRENT_STREAMS")
    out = ["max %s" % (m if m is not None else "none")]
    m = m if m is not None else n
    # Past python3-h2's own check of the server's limit: the extra stream is the point.
    c.remote_settings.max_concurrent_streams = m + 1
    c.remote_settings.acknowledge()
    first = []
    for _ in range(m):
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, headers(authority, path, "POST") + [("content-length", "1")], end_stream=False)
        first.append(sid)
    extra = c.get_next_available_stream_id()
    c.send_headers(extra, headers(authority, path + "?extra", "POST") + [("content-length", "1")], end_stream=False)
    s.sendall(c.data_to_send())
    fate = None
    responded = set()
    status = {}
    for e in pump(s, c, lambda e: getattr(e, "stream_id", None) == extra and isinstance(
            e, (h2.events.StreamReset, h2.events.ResponseReceived)) or isinstance(
            e, h2.events.ConnectionTerminated) or e == "closed", time.time() + 2):
        if getattr(e, "stream_id", None) == extra:
            fate = "extra " + describe(e)
        elif isinstance(e, h2.events.ResponseReceived):
            status[e.stream_id] = dict(e.headers)[":status"]
        elif describe(e) in ("closed",) or (describe(e) or "").startswith("goaway"):
            out.append(describe(e))
    out.append(fate or "extra open")
    if "closed" in out:
        out.append("served 0 of %d" % m)
        return out
    # Raw DATA frames: python3-h2 would refuse to send after a GOAWAY, yet streams below its last id still count.
    s.sendall(b"".join(raw_frame(0x0, 0x1, sid, b"x") for sid in first))
    deadline = time.time() + 30
    while len(responded) < m and time.time() < deadline:
        events = pump(s, c, lambda e: isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)) or e == "closed",
                      deadline)
        for e in events:
            if isinstance(e, h2.events.ResponseReceived):
                status[e.stream_id] = dict(e.headers)[":status"]
            if isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset)) and e.stream_id in first:
                responded.add(e.stream_id)
        if "closed" in events or not events:
            break
    out.append("served %d of %d" % (sum(1 for sid in first if status.get(sid) == "200"), m))
    return out


def made_you_reset(s, c, authority, path, n, variant):
    burst = bytearray()
    for _ in range(n):
        sid = c.get_next_available_stream_id()
        c.send_headers(sid, headers(authority, path), end_stream=True)
        burst += c.data_to_send()
        if variant == "window":
            burst += raw_frame(0x8, 0x0, sid, struct.pack("!I", 0))
        else:
            burst += raw_frame(0x0, 0x1, sid, b"x")
    out = []
    try:
        s.sendall(bytes(burst))
    except OSError:
        out.append("closed")
    events = [] if out else pump(s, c, lambda e: e == "closed", time.time() + 5)
    out += terminal(events)
    out.append("resets %d" % sum(1 for e in events if isinstance(e, h2.events.StreamReset)))
    if not any(x == "closed" or x.startswith("goaway") for x in out):
        out += [d for d in (describe(e) for e in get(s, c, authority, path)) if d]
    return out


def closed_stream_resets(s, c, authority, path, n):
    sid = c.get_next_available_stream_id()
    out = [d for d in (describe(e) for e in get(s, c, authority, path)) if d]
    # Raw frames: python3-h2 sends nothing for a stream it knows is closed.
    try:
        s.sendall(raw_frame(0x3, 0x0, sid, struct.pack("!I", 8)) * n)
    except OSError:
        out.append("closed")
    if "closed" not in out:
        out += terminal(pump(s, c, lambda e: isinstance(e, h2.events.ConnectionTerminated) or e == "closed",
                             time.time() + 5))
    if not any(x == "closed" or x.startswith("goaway") for x in out):
        out += ["after " + d for d in (describe(e) for e in get(s, c, authority, path)) if d]
    return out


def continuation_flood(s, c, authority, n_kib):
    block = c.encoder.encode(headers(authority, "/continuation"))
    s.sendall(raw_frame(0x1, 0x1, 1, block))  # HEADERS, END_STREAM, no END_HEADERS
    field = b"".join(b"\x00\x0a" + (b"x-flood-%02d" % (i % 100)) + b"\x64" + b"v" * 100 for i in range(160))
    payload = (field * 2)[:16384]
    frame = raw_frame(0x9, 0x0, 1, payload)  # CONTINUATION, no END_HEADERS
    sent = 0
    out = []
    while sent < n_kib * 1024:
        try:
            s.sendall(frame)
        except OSError:
            out.append("closed")
            break
        sent += len(payload)
        if select.select([s], [], [], 0)[0]:
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                out.append("closed")
                break
            try:
                out += terminal(c.receive_data(data))
            except h2.exceptions.ProtocolError:
                out.append("closed")
                break
    if not out:
        out += terminal(pump(s, c, lambda e: e == "closed", time.time() + 5))
    out.append("sent %d KiB" % (sent // 1024))
    return out


def control_flood(s, c, n, kind):
    if kind == "ping":
        frame = raw_frame(0x6, 0x0, 0, b"floodfld")
    else:
        frame = raw_frame(0x4, 0x0, 0, b"")
    sent = 0
    s.settimeout(30)
    out = []
    try:
        while sent < n:
            k = min(1000, n - sent)
            s.sendall(frame * k)
            sent += k
    except socket.timeout:
        out.append("stalled")
    except OSError:
        pass
    out.insert(0, "sent %d" % sent)
    deadline = time.time() + 10
    while time.time() < deadline:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            if not s.recv(65536):
                out.append("closed")
                return out
        except socket.timeout:
            break
        except OSError:
            out.append("closed")
            return out
    out.append("open")
    return out


def idle_stream(s, c, authority, path, n):
    idle = c.get_next_available_stream_id()
    c.send_headers(idle, headers(authority, path, "POST") + [("content-length", "100")], end_stream=False)
    c.send_data(idle, b"0123456789")
    s.sendall(c.data_to_send())
    out = []
    neighbour = c.get_next_available_stream_id()
    c.send_headers(neighbour, headers(authority, path + "?neighbour"), end_stream=True)
    s.sendall(c.data_to_send())
    done_idle = False
    deadline = time.time() + n
    while time.time() < deadline and not done_idle:
        for e in pump(s, c, lambda e: True, deadline):
            sid = getattr(e, "stream_id", None)
            d = describe(e)
            if d and sid == neighbour and d.startswith("status"):
                out.append("neighbour " + d)
            elif d and sid == idle and not done_idle:
                out.append("idle " + d)
                done_idle = True
            elif d and sid is None:
                out.append(d)
                done_idle = True
    if not done_idle:
        out.append("idle timeout")
    if not any(x == "closed" or x.startswith("goaway") for x in out):
        after = c.get_next_available_stream_id()
        c.send_headers(after, headers(authority, path + "?after"), end_stream=True)
        s.sendall(c.data_to_send())
        for e in pump(s, c, ends(after), time.time() + 10):
            d = describe(e)
            if d and (getattr(e, "stream_id", None) == after or d == "closed" or d.startswith("goaway")):
                out.append("after " + d)
    return out


def websocket(s, c, authority, path, n, scheme):
    settings = server_settings(s, c) or {}
    v = settings.get("ENABLE_CONNECT_PROTOCOL", 0)
    out = ["connect-protocol %d" % v]
    if v != 1:
        return out
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", scheme),
                         (":path", path), (":authority", authority), ("sec-websocket-version", "13")])
    s.sendall(c.data_to_send())
    status = None
    for e in pump(s, c, lambda e: isinstance(e, (h2.events.ResponseReceived, h2.events.StreamReset,
                                                  h2.events.ConnectionTerminated)) or e == "closed",
                  time.time() + 10):
        d = describe(e)
        if d:
            out.append(d)
        if isinstance(e, h2.events.ResponseReceived):
            status = dict(e.headers)[":status"]
    if status != "200":
        return out
    ws = WsStream(s, c, sid)
    ws.send(wsframes.TEXT, b"?headers")
    msg = ws.receive()
    if msg is None:
        return out + ["no answer to ?headers"] + ws.trouble
    out.append("headers " + msg[1].decode())
    for i in range(n):
        ws.send(wsframes.TEXT, ("message %d" % i).encode())
    echoed = 0
    for i in range(n):
        msg = ws.receive()
        if msg != (wsframes.TEXT, ("message %d" % i).encode()):
            out.append("mismatch at text %d: %r" % (i, msg if msg is None else (msg[0], msg[1][:40])))
            return out + ws.trouble
        echoed += 1
    out.append("echoed %d text" % echoed)
    big = os.urandom(1024 * 1024)
    ws.send(wsframes.BINARY, big)
    msg = ws.receive(30)
    if msg != (wsframes.BINARY, big):
        out.append("mismatch at binary: %s" % (None if msg is None else (msg[0], len(msg[1]))))
        return out + ws.trouble
    out.append("echoed binary %d" % len(big))
    ws.send(wsframes.CLOSE, struct.pack("!H", 1000))
    msg = ws.receive()
    out.append("close %d" % struct.unpack("!H", msg[1][:2])[0] if msg and msg[0] == wsframes.CLOSE
               else "no close")
    return out


class WsStream:
    """WebSocket messages over one HTTP/2 stream: masked frames out in DATA (flow control respected), echoes in."""

    def __init__(self, s, c, sid):
        self.s, self.c, self.sid = s, c, sid
        self.parser = wsframes.Parser()
        self.messages = []
        self.out = bytearray()
        self.trouble = []

    def send(self, opcode, payload):
        self.out += wsframes.frame(opcode, payload, True)
        self.drain_out()

    def drain_out(self):
        while self.out:
            n = min(len(self.out), self.c.local_flow_control_window(self.sid), self.c.max_outbound_frame_size)
            if n <= 0:
                return
            self.c.send_data(self.sid, bytes(self.out[:n]))
            del self.out[:n]
            self.s.sendall(self.c.data_to_send())

    def receive(self, seconds=10):
        deadline = time.time() + seconds
        while not self.messages and time.time() < deadline:
            for e in pump(self.s, self.c, lambda e: True, deadline):
                if isinstance(e, h2.events.DataReceived) and e.stream_id == self.sid:
                    self.c.acknowledge_received_data(e.flow_controlled_length, self.sid)
                    self.messages += self.parser.feed(e.data)
                elif isinstance(e, (h2.events.StreamReset, h2.events.StreamEnded, h2.events.ConnectionTerminated)) \
                        or e == "closed":
                    d = describe(e) or "ended"
                    self.trouble.append(d)
                    if getattr(e, "stream_id", self.sid) == self.sid:
                        deadline = 0
            flush(self.s, self.c)
            self.drain_out()
        return self.messages.pop(0) if self.messages else None


def early_answer(s, c, authority, path, n):
    sid = c.get_next_available_stream_id()
    c.send_headers(sid, headers(authority, path, "POST") + [("content-length", "10")], end_stream=False)
    s.sendall(c.data_to_send())
    ended = lambda e: isinstance(e, h2.events.StreamEnded) and e.stream_id == sid
    events = pump(s, c, ended, time.time() + 10)
    if not any(ended(e) for e in events):
        return events + ["timeout"]
    events.append("response ended")
    c.send_data(sid, b"0123456789", end_stream=True)
    s.sendall(c.data_to_send())
    after = pump(s, c, lambda e: isinstance(e, (h2.events.PingReceived, h2.events.StreamReset)), time.time() + n)
    events += ["ping" if isinstance(e, h2.events.PingReceived) else e for e in after]
    if not any(isinstance(e, (h2.events.PingReceived, h2.events.StreamReset)) for e in after):
        events.append("quiet")
    return events


def main():
    args = sys.argv[1:]
    cafile = None
    if args[0] == "--tls":
        cafile, args = args[1], args[2:]
    mode, port, authority, path = args[0], int(args[1]), args[2], args[3]
    n = int(args[4]) if len(args) > 4 else 0
    s, c = connect(port, authority, cafile, rcvbuf=4096 if mode in ("ping-flood", "settings-flood") else None,
                   sndbuf=65536 if mode == "continuation-flood" else None)
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
    elif mode == "early-answer":
        events = early_answer(s, c, authority, path, n)
    elif mode == "settings":
        events = ["setting %s %d" % kv for kv in (server_settings(s, c) or {}).items()]
    elif mode == "max-streams":
        events = max_streams(s, c, authority, path, n)
    elif mode.startswith("made-you-reset-"):
        events = made_you_reset(s, c, authority, path, n, mode.rsplit("-", 1)[1])
    elif mode == "closed-stream-resets":
        events = closed_stream_resets(s, c, authority, path, n)
    elif mode == "continuation-flood":
        events = continuation_flood(s, c, authority, n)
    elif mode == "big-headers":
        sid = c.get_next_available_stream_id()
        big = [("x-big-%d" % i, "b" * 4096) for i in range(max(1, n // 4))]
        c.send_headers(sid, headers(authority, path) + big, end_stream=True)
        try:
            s.sendall(c.data_to_send())
            events = pump(s, c, ends(sid), time.time() + 10)
        except OSError:
            events = ["closed"]
    elif mode in ("ping-flood", "settings-flood"):
        events = control_flood(s, c, n, mode.split("-")[0])
    elif mode == "idle-stream":
        events = idle_stream(s, c, authority, path, n)
    elif mode == "websocket":
        events = websocket(s, c, authority, path, n, "https" if cafile else "http")
    else:
        print("unknown mode " + mode, file=sys.stderr)
        sys.exit(2)
    for e in events:
        d = describe(e) if not isinstance(e, str) or e == "closed" else e
        if d:
            print(d, flush=True)
    s.close()


if __name__ == "__main__":
    main()
