#!/usr/bin/env python3
"""Misbehaving proxy servers for the interop tests (run in the lab's server
namespace). Each connection gets the answer of --mode, then the server closes
it. The process exits by itself after --lifetime seconds.

  garbage       200 bytes that are no proxy protocol at all
  ss-truncated  a valid Shadowsocks aes-128-gcm stream (password --password)
                whose first payload chunk is cut in the middle
  silent        reads and never answers
  tls-halfclose an HTTPS CONNECT proxy (TLS with --cert/--key) that reads the
                tunnel until the client's end of stream, then sends what it
                read back and closes. A client that ends its direction with a
                TLS close_notify gets its bytes back (so reading after its
                close_notify works); one that sends only a TCP FIN gets
                "no close_notify: <error>".
"""
import argparse
import os
import socket
import socketserver
import ssl
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


def tls_halfclose(sock, context):
    # suppress_ragged_eofs=False: a FIN without close_notify raises instead of
    # looking like a clean end of stream.
    tls = context.wrap_socket(sock, server_side=True, suppress_ragged_eofs=False)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = tls.recv(4096)
        if not chunk:
            return
        head += chunk
    tls.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    data = head.split(b"\r\n\r\n", 1)[1]
    try:
        while True:
            chunk = tls.recv(65536)
            if not chunk:  # close_notify
                break
            data += chunk
        reply = data
    except (ssl.SSLError, OSError) as e:
        reply = f"no close_notify: {e}".encode()
    tls.sendall(reply)
    try:
        tls.unwrap()  # our close_notify; the client may already be gone
    except (ssl.SSLError, OSError):
        pass


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(5)
        mode = self.server.mode
        if mode == "tls-halfclose":
            try:
                tls_halfclose(sock, self.server.tls)
            except (ssl.SSLError, OSError) as e:
                print(f"tls-halfclose: {e}", flush=True)
            finally:
                sock.close()
            return
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
    ap.add_argument("--mode", required=True, choices=["garbage", "ss-truncated", "silent", "tls-halfclose"])
    ap.add_argument("--cert", help="certificate chain (tls-halfclose)")
    ap.add_argument("--key", help="private key (tls-halfclose)")
    ap.add_argument("--password", default="lab-fake")
    ap.add_argument("--lifetime", type=float, default=300)
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    srv = Server((host, int(port)), Handler)
    srv.mode, srv.password, srv.lifetime = a.mode, a.password.encode(), a.lifetime
    if a.mode == "tls-halfclose":
        srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.tls.load_cert_chain(a.cert, a.key)
        # Debian's Python sets this by default: a bare FIN would then read as a clean end.
        srv.tls.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    threading.Timer(a.lifetime, srv.shutdown).start()
    print(f"fake {a.mode} server on {a.listen}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
