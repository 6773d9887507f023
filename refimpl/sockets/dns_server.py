"""The DNS server on real sockets: UDP and TCP on one port, for :class:`~refimpl.dns.server.AuthoritativeServer`.

The answers come from the sans-I/O core; this file moves bytes:

* UDP (RFC 1035 §4.2.1): one datagram in, at most one out, to the sender's
  address. The core cuts the answer to fit and sets TC.
* TCP (RFC 1035 §4.2.2, RFC 7766): each message is preceded by "a two byte
  length field which gives the message length, excluding the two byte length
  field". A client may send several queries on one connection (RFC 7766
  §6.2.1 requires servers to handle that), answered here in order. A
  connection idle for ``idle_timeout`` seconds is closed (RFC 7766 §6.2.3 lets
  servers time idle connections out; the 10 s default is our policy), as is
  one that sends a zero length.
* At most ``max_connections`` TCP connections at once (policy, 100): beyond
  that, new ones are closed at once.
* UPDATE (RFC 2136) arrives over either transport like a query; the core
  applies it to the zone in memory and answers, signed when it was (TSIG).
* Nothing a client sends stops the server: bad bytes get FORMERR or nothing
  (the core decides), and an exception in the core is logged and dropped.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time

from refimpl.dns.server import AuthoritativeServer, Note, Send

log = logging.getLogger("refimpl.sockets.dns_server")


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, driver: DnsServer):
        self.driver = driver
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, address):
        for effect in self.driver.handle(data, address, tcp=False):
            self.transport.sendto(effect.data, address)


class DnsServer:
    def __init__(
        self,
        core: AuthoritativeServer,
        host: str = "127.0.0.1",
        port: int = 5353,
        *,
        idle_timeout: float = 10.0,
        max_connections: int = 100,
    ):
        self.core, self.host, self.port = core, host, port
        self.idle_timeout, self.max_connections = idle_timeout, max_connections
        self.udp = None
        self.tcp: asyncio.base_events.Server | None = None
        self.connections: set[asyncio.Task] = set()
        self.queries = 0

    def handle(self, data: bytes, address, *, tcp: bool) -> list[Send]:
        try:  # Unix time, not the loop's monotonic clock: TSIG compares it with Time Signed (RFC 8945 §5.2.3)
            effects = self.core.receive(data, address, now=time.time(), tcp=tcp)
        except Exception:  # the core must never raise; if it does, one query is lost, not the server
            log.exception("the core raised on %d octets from %s", len(data), address)
            return []
        self.queries += 1
        for effect in effects:
            if isinstance(effect, Note):
                log.debug("%s %s: %s", "TCP" if tcp else "UDP", address, effect.text)
        return [e for e in effects if isinstance(e, Send)]

    async def start(self) -> int:
        """Bind UDP and TCP on the same port (port 0: a free one for both); returns it."""
        loop = asyncio.get_running_loop()
        for _ in range(20):  # port 0: the UDP port the kernel picks may be taken for TCP; try again
            udp, _protocol = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(self.host, self.port), family=socket.AF_INET
            )
            port = udp.get_extra_info("sockname")[1]
            try:
                self.tcp = await asyncio.start_server(self._connection, self.host, port, reuse_address=True)
            except OSError:
                udp.close()
                if self.port:
                    raise
                continue
            self.udp, self.port = udp, port
            log.info("DNS server for %s on %s port %d (UDP and TCP)", self.core.zone.origin, self.host, port)
            return port
        raise OSError("no port free for both UDP and TCP")

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if len(self.connections) >= self.max_connections:
            writer.close()
            return
        self.connections.add(task)
        peer = writer.get_extra_info("peername")
        try:
            while True:
                try:
                    prefix = await asyncio.wait_for(reader.readexactly(2), self.idle_timeout)
                    length = int.from_bytes(prefix, "big")
                    if length == 0:
                        break
                    data = await asyncio.wait_for(reader.readexactly(length), self.idle_timeout)
                except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                    break
                for effect in self.handle(data, peer, tcp=True):
                    writer.write(len(effect.data).to_bytes(2, "big") + effect.data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self.connections.discard(task)
            writer.close()

    async def close(self) -> None:
        if self.udp is not None:
            self.udp.close()
        if self.tcp is not None:
            self.tcp.close()
            for task in list(self.connections):
                task.cancel()
            await self.tcp.wait_closed()


async def serve(core: AuthoritativeServer, host: str, port: int, stop: asyncio.Event) -> None:
    server = DnsServer(core, host, port)
    await server.start()
    try:
        await stop.wait()
    finally:
        await server.close()
