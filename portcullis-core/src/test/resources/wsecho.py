#!/usr/bin/python3
"""A WebSocket echo backend for the tests (Debian's python3-websockets), HTTP/1.1 upgrades (RFC 6455) on 127.0.0.1.

Usage: wsecho.py PORT
  Every message is echoed back as it came (text as text, binary as binary), except the text message "?headers",
  answered with JSON {"path": ..., "headers": [[name, value], ...]}: the upgrade request as this backend got it.
  The 101 carries "X-Backend: wsecho". GET /refuse/CODE (e.g. 403, 426) is answered CODE with the body
  "refused by the backend" instead of an upgrade; a request without "Upgrade" is answered 200 "plain PATH".
  No keepalive pings (an idle connection moves no bytes), no compression, messages up to 16 MiB, 64 KiB socket
  buffers.
Prints "listening PORT" once it accepts connections.
"""
import asyncio
import http
import json
import re
import socket
import sys

import websockets


async def echo(ws):
    async for message in ws:
        if message == "?headers":
            await ws.send(json.dumps({"path": ws.path, "headers": [list(h) for h in ws.request_headers.raw_items()]}))
        else:
            await ws.send(message)


def process_request(path, headers):
    refuse = re.match(r"^/refuse/(\d{3})", path)
    if refuse:
        return (http.HTTPStatus(int(refuse.group(1))),
                [("Content-Type", "text/plain"), ("Connection", "close"), ("X-Refused-By", "wsecho")],
                b"refused by the backend\n")
    if "Upgrade" not in headers:
        return (http.HTTPStatus.OK, [("Content-Type", "text/plain"), ("Connection", "close")],
                ("plain " + path + "\n").encode())
    return None


async def main(port):
    # Small socket buffers (inherited by accepted sockets), so that a client that stops reading stalls the chain soon
    # and what a proxy in between holds is most of what is in flight.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    sock.bind(("127.0.0.1", port))
    async with websockets.serve(echo, sock=sock, process_request=process_request,
                                extra_headers=[("X-Backend", "wsecho")], max_size=16 * 1024 * 1024,
                                ping_interval=None, compression=None):
        print("listening %d" % port, flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
