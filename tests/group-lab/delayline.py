#!/usr/bin/env python3
"""delayline: a TCP and UDP forwarder that delays everything it sends back to
its clients, a stand-in for `tc qdisc ... netem delay` on kernels built
without sch_netem (run.sh uses netem when the kernel has it).

    delayline.py --listen ADDR:PORT [--listen ...] --upstream ADDR:PORT --delay-file FILE

The delay in milliseconds is read from FILE whenever it changes (write a new
number into it to change the delay, as `tc qdisc change` would). Data from
the client goes upstream at once; data from upstream reaches the client DELAY
later, in order. When the upstream refuses a TCP connection the client's
connection is reset, as a dead server's would be.
"""
import argparse
import asyncio
import os
import socket
import struct
import sys


def split_hostport(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


class Delay:
    def __init__(self, path):
        self.path = path
        self.mtime = None
        self.seconds = 0.0
        self.refresh()

    def refresh(self):
        try:
            st = os.stat(self.path)
            if st.st_mtime_ns != self.mtime:
                with open(self.path) as f:
                    self.seconds = float(f.read().strip() or 0) / 1000.0
                self.mtime = st.st_mtime_ns
        except (OSError, ValueError) as e:
            print(f"delayline: {self.path}: {e}", file=sys.stderr)


class Delayed:
    """Sends data at now + delay, never before earlier data (keeps order)."""

    def __init__(self, delay, send):
        self.delay, self.send, self.last = delay, send, 0.0
        self.loop = asyncio.get_running_loop()

    def put(self, data):
        due = max(self.loop.time() + self.delay.seconds, self.last)
        self.last = due
        self.loop.call_at(due, self.send, data)
        return due


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        writer.close()


async def pipe_delayed(reader, writer, delay):
    out = Delayed(delay, lambda d: writer.write(d) if not writer.is_closing() else None)
    loop = asyncio.get_running_loop()
    try:
        while data := await reader.read(65536):
            out.put(data)
        await asyncio.sleep(max(0.0, out.last - loop.time()))
        if not writer.is_closing() and writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        await asyncio.sleep(max(0.0, out.last - loop.time()))
        writer.close()


def reset(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


async def tcp_client(creader, cwriter, upstream, delay):
    try:
        ureader, uwriter = await asyncio.open_connection(*upstream)
    except OSError:
        reset(cwriter)
        return
    await asyncio.gather(pipe(creader, uwriter), pipe_delayed(ureader, cwriter, delay), return_exceptions=True)
    for w in (cwriter, uwriter):
        w.close()


class UdpSession(asyncio.DatagramProtocol):
    def __init__(self, front, client, delay):
        self.front, self.client = front, client
        self.out = Delayed(delay, lambda d: front.sendto(d, client))
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.out.put(data)

    def error_received(self, exc):  # e.g. ICMP port unreachable from a dead server: drop, as the wire would
        pass


class UdpFront(asyncio.DatagramProtocol):
    def __init__(self, upstream, delay):
        self.upstream, self.delay = upstream, delay
        self.sessions = {}
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        session = self.sessions.get(addr)
        if session is None:
            session = asyncio.ensure_future(self.open(addr))
            self.sessions[addr] = session
        session.add_done_callback(lambda s: s.result().transport.sendto(data) if not s.cancelled() and s.exception() is None else None)

    async def open(self, addr):
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_datagram_endpoint(
            lambda: UdpSession(self.transport, addr, self.delay), remote_addr=self.upstream)
        return proto


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", action="append", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--delay-file", required=True)
    a = ap.parse_args()
    delay = Delay(a.delay_file)
    upstream = split_hostport(a.upstream)
    loop = asyncio.get_running_loop()
    for listen in a.listen:
        host, port = split_hostport(listen)
        await asyncio.start_server(lambda r, w: tcp_client(r, w, upstream, delay), host, port)
        await loop.create_datagram_endpoint(lambda: UdpFront(upstream, delay), local_addr=(host, port))
    while True:
        delay.refresh()
        await asyncio.sleep(0.05)


if __name__ == "__main__":
    asyncio.run(main())
