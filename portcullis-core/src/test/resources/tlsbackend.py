"""A TLS HTTP/1.0 backend for the upstream TLS tests, with Python's ssl module only (independent of the gateway).

Usage: tlsbackend.py PORT CERT KEY [CLIENT_CA]  (environment: TLSBACKEND_KEEPALIVE=1 for HTTP/1.1 keep-alive)
With CLIENT_CA, a client certificate signed by it is required (TLS 1.3 and 1.2). Every GET answers 200 with one
JSON object describing the connection: the SNI the client sent, whether the TLS session was resumed, the client
certificate's subject CN (or null), the negotiated ALPN protocol, the TLS version and the request's Host header.
HTTP/1.0: the connection closes after each response, so every request is a new handshake (and a chance to resume);
with TLSBACKEND_KEEPALIVE=1, HTTP/1.1 keep-alive, and "requests" counts the requests seen on the connection.
Prints "listening PORT" once ready and one line per handshake failure ("handshake failed: ...").
"""
import http.server
import json
import os
import socketserver
import ssl
import sys

port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
client_ca = sys.argv[4] if len(sys.argv) > 4 else None

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(["http/1.1"])
if client_ca:
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(client_ca)


def remember_sni(sock, server_name, _ctx):
    sock.portcullis_sni = server_name


ctx.sni_callback = remember_sni


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1" if os.environ.get("TLSBACKEND_KEEPALIVE") == "1" else "HTTP/1.0"

    def do_GET(self):
        sock = self.connection
        sock.portcullis_requests = getattr(sock, "portcullis_requests", 0) + 1
        peer = sock.getpeercert()
        cn = None
        if peer:
            for rdn in peer.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
        body = json.dumps({
            "sni": getattr(sock, "portcullis_sni", None),
            "reused": sock.session_reused,
            "client": cn,
            "alpn": sock.selected_alpn_protocol(),
            "version": sock.version(),
            "host": self.headers.get("Host"),
            "requests": sock.portcullis_requests,
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def get_request(self):
        raw, addr = self.socket.accept()
        try:
            tls = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            print("handshake failed:", e, flush=True)
            raw.close()
            raise
        return tls, addr


server = Server(("127.0.0.1", port), Handler)
print("listening", port, flush=True)
server.serve_forever()
