#!/usr/bin/python3
"""Misbehaving HTTP/2 upstreams for the upstream tests (Debian's python3-h2), h2c with prior knowledge.

Usage: h2upstream.py MODE PORT
Listens on 127.0.0.1:PORT, prints "listening", and serves each connection in a thread as MODE says:
  goaway           first connection: once 6 requests are open, sends GOAWAY(NO_ERROR) with the 3rd one's id as the
                   last stream id, answers the requests up to it (200 "ok") and never the others; later
                   connections answer every request
  rst              answers every request with RST_STREAM(INTERNAL_ERROR)
  ping-flood       after the first request, sends PING frames without end and never reads again
  settings-flood   likewise with SETTINGS frames
  headers-N        answers 200 with a header "x-big" of N bytes
  no-status        a response head without :status
  status-999       :status 999
  status-101       :status 101
  connection       a "connection: keep-alive" field
  content-length   content-length 10 and 5 bytes of body
  informational-end  :status 103 with END_STREAM
  http1            not HTTP/2 at all: answers the preface with an HTTP/1.1 400 and closes
Prints one line per notable event. Runs until killed.
"""
import os
import socket
import sys
import threading

import h2.config
import h2.connection
import h2.events
from hpack import Encoder, NeverIndexedHeaderTuple
from hyperframe.frame import GoAwayFrame, HeadersFrame, PingFrame, SettingsFrame

MODE = sys.argv[1]
PORT = int(sys.argv[2])
first = threading.Lock()
first_taken = [False]


def say(*parts):
    print(*parts, flush=True)


def flood(sock, frame):
    chunk = frame * 100_000
    try:
        for _ in range(40):
            sock.sendall(chunk)
        say("flood sent")
    except OSError as e:
        say("flood ended:", e)


def bad_head(mode):
    if mode == "no-status":
        return [("content-type", "text/plain")], b"bad"
    if mode == "status-999":
        return [(":status", "999")], b"bad"
    if mode == "status-101":
        return [(":status", "101")], b""
    if mode == "connection":
        return [(":status", "200"), ("connection", "keep-alive")], b"bad"
    if mode == "content-length":
        return [(":status", "200"), ("content-length", "10")], b"12345"
    if mode.startswith("headers-"):
        n = int(mode[len("headers-"):])
        value = os.urandom(n).hex()[:n]  # hex: Huffman coding does not shrink it much
        return [(":status", "200"), ("x-big", value)], b"ok"
    return None


def serve(sock, is_first):
    if MODE == "http1":
        sock.recv(65536)
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(10)
        try:
            while sock.recv(65536):  # until the client closes: no reset that could discard our answer
                pass
        except OSError:
            pass
        sock.close()
        return
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(
        client_side=False, header_encoding="utf-8", validate_outbound_headers=False,
        normalize_outbound_headers=False, validate_inbound_headers=False))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    open_streams = []
    goaway_last = None
    flooding = False
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            break
        if not data:
            break
        try:
            events = conn.receive_data(data)
        except Exception as e:  # the client's own GOAWAY after ours, and the like
            say("h2 error:", e)
            break
        for ev in events:
            if isinstance(ev, h2.events.RequestReceived):
                sid = ev.stream_id
                if MODE == "goaway" and is_first:
                    open_streams.append(sid)
                    if len(open_streams) == 6 and goaway_last is None:
                        goaway_last = open_streams[2]
                        sock.sendall(conn.data_to_send())
                        sock.sendall(GoAwayFrame(0, last_stream_id=goaway_last, error_code=0).serialize())
                        say("goaway", goaway_last)
                        for s in open_streams:
                            if s <= goaway_last:
                                conn.send_headers(s, [(":status", "200")])
                                conn.send_data(s, b"ok", end_stream=True)
                elif MODE == "rst":
                    conn.reset_stream(sid, error_code=2)
                elif MODE in ("ping-flood", "settings-flood"):
                    sock.sendall(conn.data_to_send())
                    frame = PingFrame(0, opaque_data=b"01234567").serialize() if MODE == "ping-flood" \
                        else SettingsFrame(0).serialize()
                    flood(sock, frame)
                    flooding = True
                    break
                elif MODE == "informational-end":
                    # h2 refuses to send this, so the frame is made here; never indexed: h2's HPACK state holds
                    sock.sendall(conn.data_to_send())
                    block = Encoder().encode([NeverIndexedHeaderTuple(":status", "103")])
                    sock.sendall(HeadersFrame(sid, data=block, flags=["END_HEADERS", "END_STREAM"]).serialize())
                elif bad_head(MODE) is not None:
                    head, body = bad_head(MODE)
                    conn.send_headers(sid, head, end_stream=body is None)
                    if body is not None:
                        conn.send_data(sid, body, end_stream=True)
                else:
                    conn.send_headers(sid, [(":status", "200")])
                    conn.send_data(sid, b"ok", end_stream=True)
            elif isinstance(ev, h2.events.ConnectionTerminated):
                say("client goaway", ev.error_code)
        if flooding:
            threading.Event().wait()  # never read again
        out = conn.data_to_send()
        if out:
            try:
                sock.sendall(out)
            except OSError:
                break
    say("connection closed")
    sock.close()


def main():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a flooder that does not read fills up fast
    srv.bind(("127.0.0.1", PORT))
    srv.listen(16)
    say("listening")
    while True:
        sock, _ = srv.accept()
        with first:
            is_first = not first_taken[0]
            first_taken[0] = True
        threading.Thread(target=serve, args=(sock, is_first), daemon=True).start()


main()
