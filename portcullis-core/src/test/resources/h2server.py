#!/usr/bin/python3
"""HTTP/2 upstreams for the tests (Debian's python3-h2): well-behaved, draining and misbehaving ones, on 127.0.0.1,
h2c with prior knowledge (RFC 9113 section 3.3), or h2 over TLS with --tls.

Usage: h2server.py [--tls CERT KEY] MODE=PORT [MODE=PORT ...]
  ok               every request: 200, "x-upstream: h2server", body "h2 METHOD PATH\\n"
  both             HTTP/2 with prior knowledge as ok, and HTTP/1.1 on a connection that does not start with the
                   HTTP/2 preface: 200, body "h1 METHOD PATH\\n", keep-alive (request bodies by content-length)
  early            as ok, but answered as the request's headers arrive, before its body (a server that refuses early)
  goaway-after-N   as ok, but on each connection the Nth request's arrival sends GOAWAY (NO_ERROR) with that
                   request's stream as the last stream id; streams at or below it are answered, later ones ignored
                   (never processed, RFC 9113 section 6.8); once those are answered the connection is closed
  rst-flood        the first request's stream is reset (CANCEL), then 10,000 more RST_STREAM frames for it
  ping-flood       on the first request, up to 1,000,000 PINGs, reading nothing meanwhile (small receive buffer)
  settings-flood   as ping-flood with empty SETTINGS frames
  big-headers      every request: 200 with 1 MiB of response headers (64 of 16 KiB) in HEADERS + CONTINUATION
  no-status        every request: a response header block without :status
  status-999       every request: ":status 999"
  connection-header  every request: 200 with a "connection: keep-alive" header (forbidden in HTTP/2, section 8.2.2)
  websocket        RFC 8441: SETTINGS_ENABLE_CONNECT_PROTOCOL=1; a CONNECT with ":protocol websocket" gets 200 and its
                   WebSocket messages echoed ("?headers" answered with the request's headers as JSON); others as ok
  streams-N        as ok, but SETTINGS_MAX_CONCURRENT_STREAMS N, and each answer sent 500 ms after its request
                   ended, so that streams stay open a while; a stream over N is refused (RST_STREAM REFUSED_STREAM,
                   RFC 9113 section 5.1.2: a client may open streams before our SETTINGS reach it), "MODE: refused
                   stream"; "MODE: peak streams K" each time a connection has more streams open at once than before
A mode may carry a label, MODE/LABEL=PORT, to tell listeners of one mode apart: their lines start "MODE/LABEL: ".
Prints "listening MODE PORT" per listener, then one line per event of note ("MODE: goaway last=7",
"MODE: goaway received 11", "MODE: connection closed by peer" with what preceded it, if anything,
"MODE: sent 1000000 pings"), flushed as it goes. After the peer's GOAWAY the connection is read until the peer
closes it (at most 10 s).
"""
import json
import socket
import ssl
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from hyperframe.frame import GoAwayFrame, PingFrame, RstStreamFrame, SettingsFrame

import wsframes

FLOODS = ("ping-flood", "settings-flood")
lock = threading.Lock()


def log(line):
    with lock:
        print(line, flush=True)


DELAY = 0.5  # seconds before a streams-N answer


class RefusingSettings(h2.settings.Settings):
    """Our settings as advertised, but h2 itself takes any number of streams: streams-N refuses those over N as a
    stream error (h2 would end the whole connection, which RFC 9113 section 5.1.2 does not ask for)."""

    @property
    def max_concurrent_streams(self):
        return 2 ** 31 - 1


class Connection:
    def __init__(self, sock, name):
        self.sock = sock
        self.name = name  # what its lines start with: MODE or MODE/LABEL
        mode = name.split("/", 1)[0]
        self.mode = mode
        self.goaway_after = int(mode.rsplit("-", 1)[1]) if mode.startswith("goaway-after-") else 0
        self.max_streams = int(mode.rsplit("-", 1)[1]) if mode.startswith("streams-") else 0
        self.c = h2.connection.H2Connection(config=h2.config.H2Configuration(
            client_side=False, header_encoding="utf-8", validate_outbound_headers=False,
            normalize_outbound_headers=False))
        if mode == "websocket":
            self.c.local_settings = h2.settings.Settings(client=False, initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100,
                h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1})
        elif self.max_streams:
            self.c.local_settings = RefusingSettings(client=False, initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.max_streams})
        self.delayed = []  # [due (time.monotonic()), stream id], in due order (streams-N)
        self.peak = 0  # the most streams open at once (streams-N)
        self.requests = {}  # stream id -> headers dict
        self.received = 0
        self.last = None  # the GOAWAY's last stream id, once sent
        self.pending = {}  # stream id -> [bytes not yet sent, end_stream]
        self.ws = {}  # stream id -> wsframes.Parser
        self.flooded = False
        self.done = False
        self.goaway_code = None  # the peer's GOAWAY error code, once it came

    def send(self, extra=b""):
        out = self.c.data_to_send() + extra
        if out:
            self.sock.sendall(out)

    def run(self):
        if self.mode == "both":
            try:
                head = self.sock.recv(24, socket.MSG_PEEK | socket.MSG_WAITALL)
            except OSError:
                head = b""
            if head != b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n":
                return self.run_http1()
        try:
            self.c.initiate_connection()
            self.send()
            while not self.done:
                data = self.receive()
                if data is None:  # a delayed answer is due
                    self.respond_due()
                    self.flush_pending()
                    self.send()
                    continue
                if not data:
                    log("%s: connection closed by peer" % self.name)
                    return
                for e in self.c.receive_data(data):
                    self.handle(e)
                self.flush_pending()
                self.send()
                if self.last is not None and not self.pending and not any(s <= self.last for s in self.requests):
                    log("%s: drained, closing" % self.name)
                    self.close_gracefully()
                    return
            if self.goaway_code is not None:
                self.await_close()
        except (ConnectionError, OSError) as e:
            log("%s: connection closed by peer (%s)" % (self.name, e.__class__.__name__))
        except h2.exceptions.ProtocolError as e:
            log("%s: protocol error %s" % (self.name, e))
        finally:
            self.sock.close()

    def run_http1(self):
        """HTTP/1.1 keep-alive: each request answered 200 "h1 METHOD PATH"."""
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = self.sock.recv(65536)
                    if not data:
                        return
                    buf += data
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                while len(buf) < length:
                    data = self.sock.recv(65536)
                    if not data:
                        return
                    buf += data
                buf = buf[length:]
                body = ("h1 %s %s\n" % (method, path)).encode()
                self.sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n\r\n"
                                  % len(body) + body)
        except OSError:
            pass
        finally:
            self.sock.close()

    def receive(self):
        """The next bytes from the peer (b"" at its end), or None when a delayed answer is due first."""
        if not self.delayed:
            return self.sock.recv(65536)
        wait = self.delayed[0][0] - time.monotonic()
        if wait <= 0:
            return None
        self.sock.settimeout(wait)  # > 0: a timeout of 0 would make the socket non-blocking
        try:
            return self.sock.recv(65536)
        except socket.timeout:
            return None
        finally:
            self.sock.settimeout(None)

    def respond_due(self):
        now = time.monotonic()
        while self.delayed and self.delayed[0][0] <= now:
            sid = self.delayed.pop(0)[1]
            if sid in self.requests:
                self.respond(sid)

    def close_gracefully(self):
        self.send()
        self.sock.shutdown(socket.SHUT_WR)
        self.sock.settimeout(5)
        try:
            while self.sock.recv(65536):
                pass
        except OSError:
            pass

    def await_close(self):
        """After the peer's GOAWAY: reads (and drops) until the peer closes, as it does once its streams are done."""
        self.sock.settimeout(10)
        try:
            while self.sock.recv(65536):
                pass
            log("%s: connection closed by peer after goaway %d" % (self.name, self.goaway_code))
        except socket.timeout:
            log("%s: still open 10 s after goaway %d" % (self.name, self.goaway_code))

    def handle(self, e):
        if isinstance(e, h2.events.RequestReceived):
            self.received += 1
            sid = e.stream_id
            if self.last is not None and sid > self.last:
                return  # after our GOAWAY: never processed
            if self.max_streams and self.c.open_inbound_streams > self.max_streams:
                self.c.reset_stream(sid, error_code=7)  # REFUSED_STREAM: not processed, the client may retry
                log("%s: refused stream" % self.name)
                return
            headers = dict(e.headers)
            self.requests[sid] = headers
            if self.max_streams and self.c.open_inbound_streams > self.peak:
                self.peak = self.c.open_inbound_streams
                log("%s: peak streams %d" % (self.name, self.peak))
            if self.goaway_after and self.received == self.goaway_after and self.last is None:
                self.last = sid
                self.send(GoAwayFrame(stream_id=0, last_stream_id=sid, error_code=0).serialize())
                log("%s: goaway last=%d" % (self.name, sid))
            if self.mode == "websocket" and headers.get(":method") == "CONNECT":
                self.ws[sid] = wsframes.Parser()
                self.c.send_headers(sid, [(":status", "200"), ("x-backend", "h2server")])
            elif self.mode == "early":
                self.respond(sid)
            elif self.mode == "rst-flood" and not self.flooded:
                self.flooded = True
                self.c.reset_stream(sid, error_code=8)
                self.requests.pop(sid, None)
                self.send(RstStreamFrame(sid, error_code=8).serialize() * 10_000)
                log("%s: sent 10001 resets" % self.name)
            elif self.mode in FLOODS and not self.flooded:
                self.flooded = True
                self.flood()
        elif isinstance(e, h2.events.DataReceived):
            if e.flow_controlled_length:
                self.c.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
            parser = self.ws.get(e.stream_id)
            if parser is not None:
                for opcode, payload in parser.feed(e.data):
                    self.websocket_message(e.stream_id, opcode, payload)
        elif isinstance(e, h2.events.StreamEnded):
            if e.stream_id in self.requests and e.stream_id not in self.ws:
                if self.max_streams:
                    self.delayed.append([time.monotonic() + DELAY, e.stream_id])
                else:
                    self.respond(e.stream_id)
        elif isinstance(e, h2.events.StreamReset):
            self.requests.pop(e.stream_id, None)
            self.pending.pop(e.stream_id, None)
        elif isinstance(e, h2.events.ConnectionTerminated):
            log("%s: goaway received %d" % (self.name, e.error_code))
            self.goaway_code = e.error_code
            self.done = True

    def respond(self, sid):
        headers = self.requests.pop(sid)
        if self.mode in FLOODS or self.mode == "rst-flood":
            return  # the flood is the answer
        body = ("h2 %s %s\n" % (headers.get(":method"), headers.get(":path"))).encode()
        length = ("content-length", str(len(body)))
        if self.mode == "big-headers":
            head = [(":status", "200")] + [("x-big-%d" % i, "a" * 16384) for i in range(64)] + [length]
        elif self.mode == "no-status":
            head = [("content-type", "text/plain"), length]
        elif self.mode == "status-999":
            head = [(":status", "999"), ("content-type", "text/plain"), length]
        elif self.mode == "connection-header":
            head = [(":status", "200"), ("connection", "keep-alive"), ("content-type", "text/plain"), length]
        else:
            head = [(":status", "200"), ("content-type", "text/plain"), ("x-upstream", "h2server"), length]
        self.c.send_headers(sid, head)
        self.queue(sid, body, True)

    def websocket_message(self, sid, opcode, payload):
        if opcode == wsframes.CLOSE:
            self.queue(sid, wsframes.frame(wsframes.CLOSE, payload[:2], False), True)
            self.ws.pop(sid, None)
            self.requests.pop(sid, None)
        elif opcode == wsframes.PING:
            self.queue(sid, wsframes.frame(wsframes.PONG, payload, False), False)
        elif opcode == wsframes.TEXT and payload == b"?headers":
            h = self.requests[sid]
            self.queue(sid, wsframes.frame(wsframes.TEXT, json.dumps(
                {"path": h.get(":path"), "headers": [[k, v] for k, v in h.items()]}).encode(), False), False)
        elif opcode in (wsframes.TEXT, wsframes.BINARY):
            self.queue(sid, wsframes.frame(opcode, payload, False), False)

    def queue(self, sid, data, end):
        p = self.pending.setdefault(sid, [bytearray(), False])
        p[0] += data
        p[1] = p[1] or end
        self.flush_pending()

    def flush_pending(self):
        for sid in list(self.pending):
            buf, end = self.pending[sid]
            try:
                while buf:
                    n = min(len(buf), self.c.local_flow_control_window(sid), self.c.max_outbound_frame_size)
                    if n <= 0:
                        break
                    self.c.send_data(sid, bytes(buf[:n]))
                    del buf[:n]
                if not buf:
                    if end:
                        self.c.end_stream(sid)
                    del self.pending[sid]
            except h2.exceptions.StreamClosedError:
                del self.pending[sid]

    def flood(self):
        self.send()
        if self.mode == "ping-flood":
            frame = PingFrame(0, opaque_data=b"floodfld").serialize()
            what = "pings"
        else:
            frame = SettingsFrame(0).serialize()
            what = "settings"
        batch = frame * 1000
        sent = 0
        self.sock.settimeout(30)
        try:
            while sent < 1_000_000:
                self.sock.sendall(batch)
                sent += 1000
            log("%s: sent %d %s" % (self.name, sent, what))
        except socket.timeout:
            log("%s: stalled after %d %s" % (self.name, sent, what))
        except OSError:
            log("%s: connection closed by peer after %d %s" % (self.name, sent, what))
            self.done = True
        finally:
            self.sock.settimeout(None)


def listen(name, port, tls):
    """Accepts connections on 127.0.0.1:PORT for listener NAME (MODE or MODE/LABEL)."""
    mode = name.split("/", 1)[0]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if mode in FLOODS:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # so the peer's answers back up
    s.bind(("127.0.0.1", port))
    s.listen(128)
    log("listening %s %d" % (name, port))
    while True:
        conn, _ = s.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            try:
                conn = tls.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError) as e:
                log("%s: handshake failed %s" % (name, e))
                conn.close()
                continue
        log("%s: connection accepted" % name)
        threading.Thread(target=Connection(conn, name).run, daemon=True).start()


def main():
    args = sys.argv[1:]
    tls = None
    if args and args[0] == "--tls":
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args[1], args[2])
        tls.set_alpn_protocols(["h2"])
        args = args[3:]
    threads = []
    for a in args:
        mode, port = a.split("=")
        t = threading.Thread(target=listen, args=(mode, int(port), tls), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
