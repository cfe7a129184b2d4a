#!/usr/bin/env python3
"""Misbehaving proxy servers for the interop tests (run in the lab's server
namespace). Each connection gets the answer of --mode, then the server closes
it. The process exits by itself after --lifetime seconds.

  garbage       200 bytes that are no proxy protocol at all
  ss-truncated  a valid Shadowsocks aes-128-gcm stream (password --password)
                whose first payload chunk is cut in the middle
  silent        reads and never answers
"""
import argparse
import os
import socket
import socketserver
import struct
import threading
import time

GARBAGE = bytes((i * 73 + 41) % 256 for i in range(200))


def ss_truncated(password: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key, prev = b"", b""
    while len(key) < 16:
        prev = __import__("hashlib").md5(prev + password).digest()
        key += prev
    salt = os.urandom(16)
    aead = AESGCM(HKDF(hashes.SHA1(), 16, salt, b"ss-subkey").derive(key[:16]))
    payload = b"HTTP/1.1 200 OK\r\n" + b"x" * 83
    out = salt + aead.encrypt((0).to_bytes(12, "little"), struct.pack(">H", len(payload)), None)
    sealed = aead.encrypt((1).to_bytes(12, "little"), payload, None)
    return out + sealed[: len(sealed) // 2]


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(5)
        mode = self.server.mode
        try:
            sock.recv(4096)  # the client's handshake or header
            if mode == "garbage":
                sock.sendall(GARBAGE)
            elif mode == "ss-truncated":
                sock.sendall(ss_truncated(self.server.password))
            elif mode == "silent":
                time.sleep(self.server.lifetime)
        except OSError:
            pass
        finally:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True, help="ADDR:PORT")
    ap.add_argument("--mode", required=True, choices=["garbage", "ss-truncated", "silent"])
    ap.add_argument("--password", default="lab-fake")
    ap.add_argument("--lifetime", type=float, default=300)
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    srv = Server((host, int(port)), Handler)
    srv.mode, srv.password, srv.lifetime = a.mode, a.password.encode(), a.lifetime
    threading.Timer(a.lifetime, srv.shutdown).start()
    print(f"fake {a.mode} server on {a.listen}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
