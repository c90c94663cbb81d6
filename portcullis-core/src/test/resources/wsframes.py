"""WebSocket frames (RFC 6455 section 5) for the test scripts: build, mask and parse, nothing else.

Shared by h2probe.py (a client: masks what it sends) and h2server.py (a server: sends unmasked frames).
"""
import os
import struct
import sys

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA


def mask(data, key):
    """XORs data with the 4-byte key, repeated (section 5.3)."""
    if not data:
        return b""
    n = len(data)
    pad = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, sys.byteorder) ^ int.from_bytes(pad, sys.byteorder)).to_bytes(n, sys.byteorder)


def frame(opcode, payload, masked):
    """One final frame: a client's frames are masked, a server's are not (section 5.1)."""
    head = bytes([0x80 | opcode])
    n = len(payload)
    bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if masked:
        key = os.urandom(4)
        return head + key + mask(payload, key)
    return head + payload


def close_frame(code, masked):
    return frame(CLOSE, struct.pack("!H", code), masked)


class Parser:
    """Collects bytes and yields whole messages as (opcode, payload); fragments are joined (section 5.4)."""

    def __init__(self):
        self.buf = bytearray()
        self.fragments = None
        self.fragment_opcode = None

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            f = self._frame()
            if f is None:
                return out
            fin, opcode, payload = f
            if opcode == 0:  # continuation
                self.fragments += payload
                if fin:
                    out.append((self.fragment_opcode, bytes(self.fragments)))
                    self.fragments = None
            elif opcode >= 0x8 or fin:
                out.append((opcode, payload))
            else:
                self.fragment_opcode, self.fragments = opcode, bytearray(payload)

    def _frame(self):
        b = self.buf
        if len(b) < 2:
            return None
        fin, opcode, masked, n = b[0] & 0x80, b[0] & 0x0F, b[1] & 0x80, b[1] & 0x7F
        i = 2
        if n == 126:
            if len(b) < 4:
                return None
            n, i = struct.unpack("!H", b[2:4])[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, i = struct.unpack("!Q", b[2:10])[0], 10
        key = None
        if masked:
            if len(b) < i + 4:
                return None
            key, i = bytes(b[i:i + 4]), i + 4
        if len(b) < i + n:
            return None
        payload = bytes(b[i:i + n])
        del b[:i + n]
        if key:
            payload = mask(payload, key)
        return bool(fin), opcode, payload
