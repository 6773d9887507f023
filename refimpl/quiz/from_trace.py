"""``quiz(trace)``: questions about the numbers in *this* run, so each run asks about its own values.

The lesson's fixed questions ask what the RFCs say; these ask the learner to
read a trace, as in a Wireshark lab: the xid of the DISCOVER, the offered
address, the server identifier, the lease time and T1 of a DHCP run; the port
a 227 reply names in an FTP run; the server's transfer port and the number of
DATA packets in a TFTP run. The answers are taken from the trace itself, so a
run with another seed (or a student's own capture) gets other answers.
"""

from __future__ import annotations

import re

from refimpl.quiz.question import Number, Question, Short
from refimpl.trace import Event, Trace

READ = "Read the trace"


def quiz(trace: Trace) -> list[Question]:
    """Questions whose answers are values in ``trace`` (DHCP, FTP and TFTP parts each get theirs)."""
    events = list(trace)
    return _dhcp(events) + _ftp(events) + _tftp(events)


def _first(events: list[Event], kind: str) -> Event | None:
    return next((e for e in events if e.kind == kind and e.message is not None), None)


def _dhcp(events: list[Event]) -> list[Question]:
    discover, offer, ack = (_first(events, k) for k in ("DHCPDISCOVER", "DHCPOFFER", "DHCPACK"))
    out: list[Question] = []
    if discover is not None:
        xid = discover.message.xid
        out.append(
            Short(
                id="trace-dhcp-xid",
                prompt="What is the `xid` of this run's first DHCPDISCOVER?",
                form="Answer in hex, as the trace prints it (0x and eight digits).",
                answers=(f"0x{xid:08x}", f"{xid:08x}", f"{xid:x}", f"0x{xid:x}", str(xid)),
                why=(
                    f"Read it in the DISCOVER's line: xid=0x{xid:08x}. RFC 2131 §2, table 1: \"Transaction ID, a "
                    'random number chosen by the client"; every reply of the exchange carries it back.'
                ),
                lead=READ,
                covers=("xid-four-messages",),
            )
        )
    if offer is not None:
        message = offer.message
        out.append(
            Short(
                id="trace-dhcp-offered",
                prompt="Which address does this run's DHCPOFFER offer?",
                form="Answer with an IPv4 address (four numbers and dots).",
                answers=(message.yiaddr,),
                why=(
                    f"The OFFER's `yiaddr` is {message.yiaddr}. "
                    "RFC 2131 §2, table 1: yiaddr is \"'your' (client) IP address.\""
                ),
                lead=READ,
                covers=("offered-address",),
            )
        )
        server_id = message.options.get(54)
        if server_id:
            out.append(
                Short(
                    id="trace-dhcp-server-id",
                    prompt="What server identifier (option 54) does this run's DHCPOFFER carry?",
                    form="Answer with an IPv4 address (four numbers and dots).",
                    answers=(str(server_id),),
                    why=(
                        f'Option 54 of the OFFER is {server_id}. RFC 2132 §9.7: "The identifier is the IP address '
                        'of the selected server."'
                    ),
                    lead=READ,
                    covers=("server-identifier",),
                )
            )
    if ack is not None and ack.message.options.get(51):
        lease = ack.message.options[51]
        t1 = ack.message.options.get(58)
        out.append(
            Number(
                id="trace-dhcp-lease",
                prompt="How long is the lease this run's DHCPACK grants (option 51)?",
                answer=lease,
                unit="s",
                why=f'Option 51 of the ACK is {lease} s. RFC 2132 §9.2: "The time is in units of seconds".',
                lead=READ,
                covers=("lease-t1-t2",),
            )
        )
        out.append(
            Number(
                id="trace-dhcp-t1",
                prompt="When, in seconds after the lease starts, will this client start RENEWING (T1)?",
                answer=t1 if t1 is not None else lease * 0.5,
                unit="s",
                tolerance=0 if t1 is not None else 0.5,
                why=(
                    f"The ACK's option 58 says {t1} s."
                    if t1 is not None
                    else f"The ACK has no option 58, so RFC 2131 §4.4.5's default: 0.5 x {lease} s."
                )
                + ' RFC 2131 §4.4.5: "T1 defaults to (0.5 * duration_of_lease)."',
                lead=READ,
                covers=("lease-t1-t2",),
            )
        )
    return out


_HOST_PORT = re.compile(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)")


def _ftp(events: list[Event]) -> list[Question]:
    reply = next((e for e in events if e.kind == "227"), None)
    if reply is None:
        return []
    text = str(getattr(reply.message, "text", "")) or reply.raw.decode("ascii", "replace").strip()
    found = _HOST_PORT.search(text)
    if not found:
        return []
    p1, p2 = int(found.group(5)), int(found.group(6))
    return [
        Number(
            id="trace-ftp-pasv-port",
            prompt=f"This run's server replied `{text}`. To which port does the client open the data connection?",
            answer=p1 * 256 + p2,
            why=(
                f"p1 x 256 + p2 = {p1} x 256 + {p2} = {p1 * 256 + p2}. RFC 959 §4.1.2: the 16-bit port is "
                '"broken into 8-bit fields and the value of each field is transmitted as a decimal number".'
            ),
            lead=READ,
            covers=("pasv-port",),
        )
    ]


def _tftp(events: list[Event]) -> list[Question]:
    data = [e for e in events if e.kind == "DATA" and e.transport == "udp"]
    if not data:
        return []
    blocks = {e.summary.split()[0] for e in data}
    numbers = ", ".join(sorted((b.split("=")[-1] for b in blocks), key=int))
    return [
        Number(
            id="trace-tftp-server-port",
            prompt="From which UDP port does this run's server send its DATA packets?",
            answer=data[0].src_port,
            why=(
                f'DATA 1 comes from port {data[0].src_port}, not 69. RFC 1350 §4: the response "uses a TID chosen '
                'by the server as its source TID".'
            ),
            lead=READ,
            covers=("tftp-tid",),
        ),
        Number(
            id="trace-tftp-blocks",
            prompt="How many different DATA blocks did this run's transfer need?",
            answer=len(blocks),
            why=(
                f'Blocks {numbers} in the trace. RFC 1350 §5: a data field "from zero to 511 bytes long" '
                '(of a 512-byte block size) "signals the end of the transfer."'
            ),
            lead=READ,
            covers=("tftp-blocks",),
        ),
    ]
