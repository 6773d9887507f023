"""TCP for the simulated network: just enough to teach FTP's two connections.

What students should see in a trace is the *shape* of TCP, not its
arithmetic: the three-way handshake (RFC 793 §3.4: SYN, SYN-ACK, ACK), data
flowing in order, the four-segment teardown (§3.5: FIN, ACK, FIN, ACK) and the
RST that answers a SYN to a port nobody listens on. So this module keeps:

* an in-order, reliable byte stream per connection: segments of one
  direction arrive in the order sent (a lost segment is retransmitted and the
  ones behind it wait: head-of-line blocking);
* SYN retransmission with a doubling timeout (RFC 6298 §5.5), then
  "connection timed out": what a client behind a NAT sees in active FTP.

And it leaves out: sequence-number arithmetic, windows, congestion control,
TIME-WAIT, and separate ACKs for data segments (they are implied; drawing
them would double every arrow in the diagrams).

API (callbacks, like an event-driven socket library)::

    server.tcp.listen(21, on_accept)              # on_accept(conn)
    conn = client.tcp.connect(("192.0.2.1", 21),
                              on_connect=..., on_data=..., on_close=..., on_error=...)
    conn.send(b"USER alice\\r\\n"); conn.close()

``on_data(conn, data)``, ``on_connect(conn)``, ``on_close(conn)`` (the peer
closed: end of file), ``on_error(conn, reason)`` ("connection refused",
"connection timed out", "connection reset").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from refimpl.sim.host import Host
    from refimpl.sim.packet import Packet


class Listener:
    """A listening port: every completed handshake becomes a connection for ``on_accept``."""

    def __init__(self, stack: TcpStack, port: int, on_accept: Callable | None, flow: str):
        self.stack, self.port, self.on_accept, self.flow = stack, port, on_accept, flow
        self.accepted: list[TcpConnection] = []

    def close(self) -> None:
        """Stop listening (connections already accepted stay open)."""
        if self.stack.listeners.get(self.port) is self:
            del self.stack.listeners[self.port]


class TcpConnection:
    """One end of a TCP connection. ``state`` follows RFC 793 §3.2 names."""

    def __init__(self, stack: TcpStack, local: tuple[str, int], remote: tuple[str, int], flow: str = ""):
        self.stack = stack
        self.local, self.remote = local, remote
        self.flow = flow
        self.state = "CLOSED"
        self.on_connect: Callable | None = None
        self.on_data: Callable | None = None
        self.on_close: Callable | None = None
        self.on_error: Callable | None = None
        self.auto_close = True  # answer the peer's FIN with our own FIN after on_close
        self.received = bytearray()  # data kept here when there is no on_data
        self.error: str | None = None
        self.listener: Listener | None = None
        self._queue: deque[tuple[str, bytes]] = deque()  # segments waiting to be sent
        self._not_before = 0.0  # in-order delivery: the next segment arrives after this
        self._held: object | None = None  # retransmission timer while a segment is lost
        self._retries = 0
        self._syn_tries = 0
        self._syn_timer = None
        self._fin_sent = self._fin_acked = self._fin_received = False

    @property
    def net(self):
        return self.stack.host.net

    def __repr__(self) -> str:
        (lip, lport), (rip, rport) = self.local, self.remote
        return f"<TcpConnection {self.stack.host.name} {lip}:{lport} -> {rip}:{rport} {self.state}>"

    # -- what an application calls -------------------------------------
    def send(self, data: bytes) -> None:
        """Queue bytes for the peer, cut into segments of at most ``net.mss`` bytes."""
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"TCP data must be bytes, not {type(data).__name__}")
        if self.state not in ("ESTABLISHED", "CLOSE-WAIT"):
            raise ConnectionError(f"cannot send on a connection in state {self.state}")
        mss = self.net.mss
        for start in range(0, len(data), mss):
            self._queue_segment("", bytes(data[start : start + mss]))

    def close(self) -> None:
        """Send FIN (RFC 793 §3.5). The connection is CLOSED once both FINs are acknowledged."""
        if self.state == "ESTABLISHED":
            self.state = "FIN-WAIT-1"
        elif self.state == "CLOSE-WAIT":
            self.state = "LAST-ACK"
        elif self.state in ("SYN-SENT", "SYN-RECEIVED"):
            self._finish("CLOSED")
            return
        else:
            return  # already closing or closed: closing twice is harmless
        self._fin_sent = True
        self._queue_segment("FIN", b"")

    # -- sending -----------------------------------------------------------
    def _packet(self, flags: str, payload: bytes) -> Packet:
        from refimpl.sim.packet import Packet

        (lip, lport), (rip, rport) = self.local, self.remote
        return Packet("tcp", lip, lport, rip, rport, payload, flags=flags, flow=self.flow)

    def _emit(self, flags: str, payload: bytes = b"") -> bool:
        arrival, lost = self.stack.host.send(self._packet(flags, payload), not_before=self._not_before)
        self._not_before = arrival
        return lost

    def _queue_segment(self, flags: str, payload: bytes) -> None:
        self._queue.append((flags, payload))
        if self._held is None:
            self._pump()

    def _pump(self) -> None:
        """Send queued segments in order; on a loss, hold the rest and retransmit later."""
        self._held = None
        while self._queue:
            flags, payload = self._queue[0]
            if self._emit(flags, payload):
                self._retries += 1
                if self._retries > 5:
                    self._fail("connection timed out")
                    return
                # RFC 6298 §5.5: back off the timer, doubling it after each retransmission
                self._held = self.net.call_later(self.net.tcp_rto * 2 ** (self._retries - 1), self._pump)
                return
            self._queue.popleft()
            self._retries = 0

    def _send_syn(self) -> None:
        self._emit("SYN")
        delay = self.net.tcp_rto * 2**self._syn_tries
        self._syn_tries += 1
        self._syn_timer = self.net.call_later(delay, self._syn_timeout)

    def _syn_timeout(self) -> None:
        if self.state != "SYN-SENT":
            return
        if self._syn_tries > self.net.tcp_syn_retries:
            self._fail("connection timed out")
        else:
            self._send_syn()  # RFC 6298 §5.7 / RFC 1122 §4.2.3.5: retry the SYN, then give up

    # -- what the stack calls: the two ways to open (RFC 793 §3.4), and each segment --
    def open_active(self) -> None:
        """Active open (a client's ``connect``): send SYN and wait in SYN-SENT for the SYN-ACK."""
        self.state = "SYN-SENT"
        self._send_syn()

    def open_passive(self, listener: Listener) -> None:
        """A SYN reached ``listener``: answer SYN-ACK and wait in SYN-RECEIVED for the ACK."""
        self.listener = listener
        self.state = "SYN-RECEIVED"
        self._emit("SYN-ACK")

    def receive(self, packet: Packet) -> None:
        """A segment of this connection arrived: move the state on, hand data and ends to the callbacks."""
        flags = packet.flags
        if flags == "RST":
            # RFC 793 §3.4: a RST in SYN-SENT means nobody listens there.
            self._fail("connection refused" if self.state == "SYN-SENT" else "connection reset")
        elif self.state == "SYN-SENT" and flags == "SYN-ACK":
            self._cancel_syn_timer()
            self.state = "ESTABLISHED"
            self._queue_segment("ACK", b"")
            if self.on_connect:
                self.on_connect(self)
        elif self.state == "SYN-RECEIVED" and flags == "SYN":
            self._emit("SYN-ACK")  # our SYN-ACK was lost: the client asked again
        elif self.state == "SYN-RECEIVED" and flags == "ACK":
            self.state = "ESTABLISHED"
            if self.listener is not None:
                self.listener.accepted.append(self)
                if self.listener.on_accept:
                    self.listener.on_accept(self)
        elif packet.payload:
            if self.on_data:
                self.on_data(self, packet.payload)
            else:
                self.received += packet.payload
        elif flags == "FIN":
            self._on_fin()
        elif flags == "ACK" and self._fin_sent and not self._fin_acked:
            self._fin_acked = True
            if self.state == "FIN-WAIT-1":
                self.state = "FIN-WAIT-2"
            elif self.state in ("LAST-ACK", "CLOSING"):
                self._finish("CLOSED")

    def _on_fin(self) -> None:
        if self._fin_received:
            self._queue_segment("ACK", b"")  # a retransmitted FIN: acknowledge again
            return
        self._fin_received = True
        self._queue_segment("ACK", b"")
        if self.state == "ESTABLISHED":
            self.state = "CLOSE-WAIT"
        elif self.state == "FIN-WAIT-1":
            self.state = "CLOSING"
        elif self.state == "FIN-WAIT-2":
            self._finish("CLOSED")  # (no TIME-WAIT in the simulator)
        if self.on_close:
            self.on_close(self)
        if self.auto_close and self.state == "CLOSE-WAIT":
            self.close()

    # -- endings -----------------------------------------------------------
    def _cancel_syn_timer(self) -> None:
        if self._syn_timer is not None:
            self._syn_timer.cancel()
            self._syn_timer = None

    def _finish(self, state: str) -> None:
        self._cancel_syn_timer()
        self.state = state
        self.stack.connections.pop((*self.local, *self.remote), None)

    def _fail(self, reason: str) -> None:
        self.error = reason
        self._queue.clear()
        if self._held is not None:
            self._held.cancel()
            self._held = None
        self._finish("CLOSED")
        if self.on_error:
            self.on_error(self, reason)


class TcpStack:
    """A host's TCP: listening ports and connections keyed by the 4-tuple."""

    def __init__(self, host: Host):
        self.host = host
        self.listeners: dict[int, Listener] = {}
        self.connections: dict[tuple[str, int, str, int], TcpConnection] = {}

    def port_in_use(self, port: int) -> bool:
        return port in self.listeners or any(key[1] == port for key in self.connections)

    def listen(self, port: int, on_accept: Callable | None = None, flow: str = "") -> Listener:
        """Listen on ``port`` (0 = an ephemeral port, as for a passive FTP data connection)."""
        port = port or self.host.ephemeral_port()
        if port in self.listeners:
            raise OSError(f"{self.host.name}: TCP port {port} already listening")
        listener = Listener(self, port, on_accept, flow)
        self.listeners[port] = listener
        return listener

    def connect(
        self,
        address: tuple[str, int],
        *,
        src_port: int = 0,
        src_ip: str | None = None,
        flow: str = "",
        on_connect: Callable | None = None,
        on_data: Callable | None = None,
        on_close: Callable | None = None,
        on_error: Callable | None = None,
    ) -> TcpConnection:
        """Open a connection: sends SYN now; ``on_connect(conn)`` runs when SYN-ACK comes back."""
        ip, port = address
        if src_ip is None:
            found = self.host.route(ip)
            src_ip = found[0].ip if found else self.host.ip
        src_port = src_port or self.host.ephemeral_port()
        key = (src_ip, src_port, ip, port)
        if key in self.connections:
            raise OSError(f"{self.host.name}: connection {key} already exists")
        conn = TcpConnection(self, (src_ip, src_port), (ip, port), flow)
        conn.on_connect, conn.on_data, conn.on_close, conn.on_error = on_connect, on_data, on_close, on_error
        self.connections[key] = conn
        conn.open_active()
        return conn

    def receive(self, packet: Packet) -> str | None:
        """A TCP segment for this host. Always taken (a RST is an answer too)."""
        key = (packet.dst_ip, packet.dst_port, packet.src_ip, packet.src_port)
        conn = self.connections.get(key)
        if conn is not None:
            conn.receive(packet)
            return None
        listener = self.listeners.get(packet.dst_port)
        if packet.flags == "SYN" and listener is not None:
            conn = TcpConnection(self, (packet.dst_ip, packet.dst_port), packet.source, listener.flow or packet.flow)
            self.connections[key] = conn
            conn.open_passive(listener)
            return None
        if packet.flags != "RST":
            # RFC 793 §3.4 "Reset Generation": a segment for no connection is answered by RST.
            from refimpl.sim.packet import Packet

            rst = Packet(
                "tcp", packet.dst_ip, packet.dst_port, packet.src_ip, packet.src_port, flags="RST", flow=packet.flow
            )
            self.host.send(rst)
        return None
