#!/usr/bin/env python3
"""A tiny DNS-over-HTTPS (RFC 8484) upstream for the DNS lab.

HTTP/1.1 over TLS; POST (application/dns-message body) and GET (?dns=base64url) on
one path; each query is forwarded over UDP to a DNS server and its answer returned.
Debian has no DoH server package, so the lab uses this (python3 standard library only).

  doh_server.py --listen 198.18.1.56 --port 443 --cert server.crt --key server.key \
                --upstream 198.18.1.53:53 [--path /dns-query]

Prints one line per request: "doh METHOD PATH qbytes -> abytes".
"""
import argparse
import base64
import http.server
import socket
import ssl
import sys
from urllib.parse import parse_qs, urlsplit


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        if urlsplit(self.path).path != self.server.doh_path:
            return self.fail(404)
        if self.headers.get("Content-Type") != "application/dns-message":
            return self.fail(415)
        length = int(self.headers.get("Content-Length", "0"))
        if length <= 0 or length > 65535:
            return self.fail(400)
        self.answer(self.rfile.read(length), "POST")

    def do_GET(self):
        url = urlsplit(self.path)
        values = parse_qs(url.query).get("dns")
        if url.path != self.server.doh_path or not values:
            return self.fail(400)
        text = values[0]
        try:
            query = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except ValueError:
            return self.fail(400)
        self.answer(query, "GET")

    def answer(self, query, method):
        host, port = self.server.upstream
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            s.sendto(query, (host, port))
            try:
                data, _ = s.recvfrom(65535)
            except socket.timeout:
                return self.fail(504)
        print(f"doh {method} {urlsplit(self.path).path} {len(query)} -> {len(data)}", flush=True)
        self.send_response(200)
        self.send_header("Content-Type", "application/dns-message")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "max-age=0")
        self.end_headers()
        self.wfile.write(data)

    def fail(self, code):
        print(f"doh error {code} {self.command} {self.path}", flush=True)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--upstream", required=True, help="IP:PORT of a DNS server (UDP)")
    ap.add_argument("--path", default="/dns-query")
    a = ap.parse_args()

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in a.listen else socket.AF_INET
        daemon_threads = True

    server = Server((a.listen, a.port), Handler)
    host, _, port = a.upstream.rpartition(":")
    server.upstream = (host.strip("[]"), int(port))
    server.doh_path = a.path
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.set_alpn_protocols(["http/1.1"])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(f"doh listening on {a.listen}:{a.port}{a.path} -> {a.upstream}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
