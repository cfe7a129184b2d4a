#!/usr/bin/env python3
"""The lab's target: tells every client which source address it saw.

HTTP on port 80: GET / -> "src=IP sport=PORT dst=IP"; GET /bytes/N -> N bytes.
TCP port 7: echo. UDP port 7: answers "src=IP sport=PORT\n" + the datagram.
Usage: target.py ADDR...
"""
import http.server
import socket
import socketserver
import sys
import threading


class Http(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path.startswith("/bytes/"):
            n = int(self.path.split("/")[2])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            chunk = b"x" * 65536
            while n > 0:
                self.wfile.write(chunk[: min(n, len(chunk))])
                n -= len(chunk)
            return
        body = f"src={self.client_address[0]} sport={self.client_address[1]} dst={self.server.server_address[0]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):
        # Health checks of proxy nodes use HEAD by default.
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def server_class(family):
    class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
        address_family = family
        daemon_threads = True
        allow_reuse_address = True

        def server_bind(self):
            # HTTPServer.server_bind looks the host name up in DNS, which the lab has not.
            socketserver.TCPServer.server_bind(self)
            self.server_name, self.server_port = self.server_address[:2]
    return S


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


def tcp_class(family):
    class S(socketserver.ThreadingMixIn, socketserver.TCPServer):
        address_family = family
        daemon_threads = True
        allow_reuse_address = True
    return S


def udp_echo(addr, family):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((addr, 7))
    while True:
        data, peer = s.recvfrom(65536)
        s.sendto(f"src={peer[0]} sport={peer[1]}\n".encode() + data, peer)


def main():
    threads = []
    for addr in sys.argv[1:]:
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        for srv in (server_class(family)((addr, 80), Http), tcp_class(family)((addr, 7), Echo)):
            threads.append(threading.Thread(target=srv.serve_forever, daemon=True))
        threads.append(threading.Thread(target=udp_echo, args=(addr, family), daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
