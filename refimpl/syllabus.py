"""The course plan: each unit's learning objectives, where each is assessed, and the time it takes.

A teacher planning a semester needs three things per unit: what a student
will be able to do afterwards, how that is checked, and how long it takes.
The objectives are written here once, each tied to the exercise tasks that
assess it (the ``task`` of its checks, or the name of a written answer), so a
test can hold every objective to a task that really exists and every graded
task to an objective. Everything countable is counted from the notebooks
themselves (questions, code cells, words, points), so the plan cannot drift
from the course.

The minutes are **our estimate** (a policy, not a measurement): reading at
:data:`WORDS_PER_MINUTE`, :data:`MINUTES_PER_CODE_CELL` to run a cell and
look at what it shows, :data:`MINUTES_PER_QUESTION` to think before
revealing an answer, :data:`MINUTES_PER_POINT` of exercise. Tune them to
your class.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORDS_PER_MINUTE = 120  # technical prose, read with care
MINUTES_PER_CODE_CELL = 1.0
MINUTES_PER_QUESTION = 1.5
MINUTES_PER_POINT = 5.0


@dataclass(frozen=True)
class Objective:
    """What a student can do after the unit, and the exercise tasks that check it."""

    text: str
    assessed_by: tuple[str, ...] = ()  # task names in the unit's exercise; empty: the lesson's questions only


@dataclass(frozen=True)
class Unit:
    number: str
    title: str
    lesson: str  # file name in notebooks/
    exercise: str | None  # file name in solutions/ (and exercises/)
    objectives: tuple[Objective, ...]


def _o(text: str, *tasks: str) -> Objective:
    return Objective(text, tasks)


UNITS: tuple[Unit, ...] = (
    Unit(
        "01",
        "The DHCP message",
        "01_dhcp_message.ipynb",
        "01_dhcp_message.ipynb",
        (
            _o(
                "lay out the fixed BOOTP/DHCP header field by field and pack it (RFC 2131 §2)",
                "pack-discover",
                "pack-offer",
            ),
            _o("walk the options as code, length, value, past PAD and up to END (RFC 2132 §2)", "message-type"),
            _o("decode classless static routes, option 121 (RFC 3442)", "routes-121"),
            _o(
                "say when a reply is broadcast, and compute a subnet's broadcast address",
                "broadcast-address",
                "reply-to",
            ),
            _o("read a message of one's own from its bytes", "01-your-message"),
            _o("read a real capture: the four messages, their xid, the offer and the lease clock", "01-capture"),
            _o("explain why a client without an address sends to 255.255.255.255", "01-why-limited-broadcast"),
        ),
    ),
    Unit(
        "02",
        "Getting a lease: the four steps",
        "02_dhcp_lease.ipynb",
        "02_dhcp_lease.ipynb",
        (
            _o(
                "apply the server's rules for choosing an address (RFC 2131 §4.3.1)",
                "02-address-choice",
                "02-address-refimpl",
            ),
            _o("build the REQUEST of a client in SELECTING (RFC 2131 §4.4.1, table 5)", "02-selecting-request"),
            _o("predict the messages of a LAN with two servers, before running it", "02-predict-two-servers"),
            _o("read the xid, offered address, server identifier and times of one's own lease", "02-your-lease"),
            _o("explain why the REQUEST is broadcast although the client knows the server", "02-why-broadcast-request"),
            _o("answer a DHCPINFORM (RFC 2131 §4.3.5)", "02-inform"),
            _o("diagnose a server that ignores the BROADCAST bit, name the rule, mend it", "02-diagnose"),
        ),
    ),
    Unit(
        "03",
        "The life of a lease",
        "03_dhcp_lease_life.ipynb",
        "03_dhcp_lease_life.ipynb",
        (
            _o("compute T1 and T2 and when they fall (RFC 2131 §4.4.5)", "03-timers", "03-timers-client"),
            _o(
                "fill the REQUEST of each state: SELECTING, INIT-REBOOT, RENEWING, REBINDING",
                "03-requests",
                "03-requests-refimpl",
            ),
            _o("schedule a RENEWING client's retransmissions", "03-renewing-schedule", "03-renewing-trace"),
            _o("diagnose a client that renews at the wrong time, name the rule, mend it", "03-diagnose"),
            _o("plan one's own lease ahead: start, end, renew and rebind times", "03-your-lease"),
            _o("explain why the lease counts from the REQUEST, not the ACK", "03-why-count-from-request"),
            _o("describe RELEASE, DECLINE after an ARP conflict, NAK and link-local fallback"),
        ),
    ),
    Unit(
        "04",
        "Relays, several servers, allocation",
        "04_dhcp_relay_and_servers.ipynb",
        "04_dhcp_relay_and_servers.ipynb",
        (
            _o("forward a request like a relay agent: giaddr, hops, loops (RFC 1542 §4.1.1)", "04-relay-forward"),
            _o("judge an address allocator against the RFC's rules", "04-cursor-pool"),
            _o("predict what crosses a relay to two servers", "04-predict-relay"),
            _o("diagnose a DHCPNAK lost behind a relay, name the rule, mend it", "04-diagnose"),
            _o("trace a campus with two relays and three servers", "04-your-campus"),
            _o("explain why a second relay keeps giaddr", "04-why-keep-giaddr"),
        ),
    ),
    Unit(
        "05",
        "FTP: the control connection",
        "05_ftp_control.ipynb",
        "05_ftp_control.ipynb",
        (
            _o("say what a reply code means digit by digit (RFC 959 §4.2)", "05-explain-code"),
            _o("read multi-line replies off a byte stream", "05-read-replies"),
            _o(
                "keep a user inside a chroot jail, and say why a prefix test is not enough",
                "05-virtual-path",
                "05-is-inside",
            ),
            _o("read a transfer log (xferlog)", "05-xferlog"),
            _o("read one's own session from the control connection", "05-your-session"),
            _o("read a real capture of a session: its commands, data connections and file", "05-capture"),
            _o("explain why a reply is a code and a text", "05-why-code-and-space"),
            _o("decide what a client makes of the replies to RETR (RFC 959 §5.4)", "05-retr-outcome"),
        ),
    ),
    Unit(
        "06",
        "FTP: active and passive data connections",
        "06_ftp_active_passive.ipynb",
        "06_ftp_active_passive.ipynb",
        (
            _o(
                "write and read the PORT and 227 arguments (RFC 959 §4.1.2)",
                "06-port-argument",
                "06-parse-227",
                "06-parse-227-live",
            ),
            _o("answer a PORT like a careful server, against the bounce attack (RFC 2577)", "06-port-reply"),
            _o("predict which mode survives which firewall or NAT", "06-predict-modes"),
            _o("diagnose a listing that fails through a NAT, name the rule, mend it", "06-diagnose"),
            _o("predict what a firewall's FTP helper must open for one's own session", "06-your-helper"),
            _o(
                "explain why passive mode gets through a client's NAT and active mode does not",
                "06-why-passive-through-nat",
            ),
        ),
    ),
    Unit(
        "07",
        "TFTP: files over UDP",
        "07_tftp.ipynb",
        "07_tftp.ipynb",
        (
            _o("build a read or write request with options (RFC 1350 §5, RFC 2347)", "07-request-bytes"),
            _o(
                "count the DATA packets of a transfer, with any block size (RFC 2348)",
                "07-blocks-512",
                "07-blocks-blksize",
            ),
            _o("convert netascii line ends both ways (RFC 1350, RFC 764)", "07-to-wire", "07-from-wire"),
            _o("apply the sender's rule for ACKs (RFC 1123 §4.2.3.1)", "07-on-ack"),
            _o("predict the packets a late DATA costs, with and without the Sorcerer's Apprentice bug", "07-predict"),
            _o("diagnose the Sorcerer's Apprentice bug in a run, name the rule, mend it", "07-diagnose"),
            _o(
                "read one's own transfer with a lost DATA: packets, the last block, what went twice", "07-your-transfer"
            ),
            _o(
                "explain why one loss costs one resend in lock-step, and how a short block ends the file",
                "07-why-one-resend",
            ),
        ),
    ),
    Unit(
        "08",
        "The application layer: DNS and DDNS, HTTP, Telnet, SSH, RDP",
        "08_application_layer.ipynb",
        "08_application_layer.ipynb",
        (
            _o(
                "say which port and transport each protocol of the map uses and who connects to whom; tell "
                "well-known from ephemeral ports (RFC 6335 §6)"
            ),
            _o(
                "build a DNS query byte by byte: the header's ID, flags and counts, the question's labels, QTYPE "
                "and QCLASS (RFC 1035 §4.1.1, §4.1.2, §3.1)",
                "08-query",
            ),
            _o(
                "read a response's names by following compression pointers, a pointer to a pointer included, and "
                "refuse a pointer that loops (RFC 1035 §4.1.4)",
                "08-names",
                "08-jumps",
            ),
            _o(
                "predict a response's size and whether UDP truncates it, without EDNS (512 octets) and with an "
                "EDNS payload size, and say that the resolver then asks again over TCP (RFC 1035 §4.2.1, "
                "RFC 6891 §6.2.3, RFC 2181 §9, RFC 7766 §5)",
                "08-predict-tc",
            ),
            _o(
                "tell recursion from iteration and read a referral (RFC 1034 §4.3.1); say why a zone transfer "
                "uses TCP (RFC 5936)"
            ),
            _o(
                "follow a lease into signed DNS UPDATEs, explain the DHCID rule (RFC 2136, RFC 4703), and why "
                "TSIG and not the source address authorizes an UPDATE (RFC 2136 §8.1, RFC 8945)",
                "08-why-tsig",
            ),
            _o(
                "read an HTTP/1.1 exchange: the eight methods, the five status classes, a persistent connection "
                "and Connection: close (RFC 9110 §9, §15; RFC 9112 §9.3, §9.6)"
            ),
            _o(
                "split a Telnet stream into NVT text, option negotiation and subnegotiation, doubled IAC bytes "
                "included (RFC 854, RFC 855)",
                "08-telnet",
            ),
            _o(
                "find the clear-text password in an FTP capture and in a Telnet login, and show that SSH "
                "encrypts everything after NEWKEYS (RFC 959 §4.1.1, RFC 854, RFC 4253 §7.3)",
                "08-ftp-password",
                "08-telnet-login",
            ),
            _o(
                "read SSH's version lines and KEXINIT lists and apply the negotiation rule; compression is "
                "optional (RFC 4253 §4.2, §6.2, §7.1)"
            ),
            _o("lay out the first bytes of an RDP connection: TPKT, X.224 Connection Request ([MS-RDPBCGR] §2.2.1.1)"),
        ),
    ),
    Unit(
        "09",
        "DHCP options: what configures a host, and DHCPv6",
        "09_dhcp_options.ipynb",
        None,
        (
            _o(
                "turn options 1, 3, 33 and 121 into the host's routing table, and say why 121 makes the client "
                "ignore 3 and 33 (RFC 3442)"
            ),
            _o("read options 6, 15, 26 and 28 from their bytes and say what the host does with each (RFC 2132 §3, §5)"),
            _o(
                "tell the two forms of the client identifier apart: type 1 + MAC, type 255 + IAID + DUID "
                "(RFC 2132 §9.14, RFC 4361)"
            ),
            _o(
                "say where a PXE client finds its boot file: siaddr/file or options 66/67, with 60 and 93/94/97 "
                "(RFC 2131 §2, RFC 4578)"
            ),
            _o("say who adds and who removes option 82 and what circuit id and remote id carry (RFC 3046)"),
            _o(
                "outline DHCPv6 against SLAAC and the M and O flags, and where an IPv6 host's default router comes "
                "from (RFC 8415, RFC 4861 §4.2)"
            ),
        ),
    ),
    Unit(
        "10",
        "DHCP security and operations",
        "10_dhcp_security.ipynb",
        None,
        (
            _o(
                "explain why a client takes a rogue server's offer and what its router and DNS options give the "
                "rogue (RFC 2131 §4.4.1, §7)"
            ),
            _o("starve a pool with invented chaddr values and count what is left for a real client (RFC 2131 §7)"),
            _o(
                "say what each part of DHCP snooping stops: trusted ports, chaddr check, rate limit, port security, "
                "IP source guard"
            ),
            _o(
                "trace option 82 added by a switch with giaddr 0, trusted by the relay, echoed by the server "
                "(RFC 3046 §2.1, §2.2)"
            ),
            _o(
                "show what a server restart keeps with and without a lease file written before the ACK "
                "(RFC 2131 §3.1 step 4)"
            ),
            _o("tell split pools from failover, and which failover protocol is an RFC (RFC 8156)"),
        ),
    ),
    Unit(
        "11",
        "FTP today, and IPv6",
        "11_ftp_today_and_ipv6.ipynb",
        None,
        (
            _o("resume a cut-off download with SIZE and REST, and say what the 350 reply means (RFC 3659 §4, §5)"),
            _o(
                "tell explicit FTPS (AUTH TLS, PBSZ, PROT: RFC 4217) from implicit FTPS on port 990, and show from "
                "a capture what stays readable after AUTH TLS"
            ),
            _o("say why SFTP is not FTP: an SSH subsystem (RFC 4254 §6.5), one encrypted connection"),
            _o(
                "trace an FXP transfer between two servers and say why the defence against the bounce attack "
                "refuses it (RFC 2577 §2)"
            ),
            _o(
                "say what EPRT and EPSV carry that PORT and PASV cannot, and why EPSV passes a NAT (RFC 2428); "
                "outline DHCPv6 against SLAAC (RFC 8415, RFC 4862)"
            ),
        ),
    ),
)


@dataclass(frozen=True)
class UnitPlan:
    """One unit as counted from its notebooks."""

    unit: Unit
    words: int
    code_cells: int
    questions: int
    points: float  # the exercise's points: checks and written answers
    tasks: dict[str, str]  # task name -> the exercise section that holds it ("§3")

    @property
    def lesson_minutes(self) -> float:
        return (
            self.words / WORDS_PER_MINUTE
            + self.code_cells * MINUTES_PER_CODE_CELL
            + self.questions * MINUTES_PER_QUESTION
        )

    @property
    def exercise_minutes(self) -> float:
        return self.points * MINUTES_PER_POINT


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _exercise_tasks(cells: list[dict]) -> tuple[dict[str, str], float]:
    """Task name -> section ("§N" from the ``## N.`` heading above it), and the total points."""
    tasks: dict[str, str] = {}
    points = 0.0
    section = ""
    for cell in cells:
        text = _text(cell)
        if cell["cell_type"] == "markdown":
            for line in text.splitlines():  # a heading may sit below a paragraph of the task before
                number = line[3:].split(".", 1)[0].strip() if line.startswith("## ") else ""
                if number.isdigit():
                    section = f"§{number}"
        course = cell.get("metadata", {}).get("course") or {}
        name = course.get("task") or course.get("check") or course.get("manual")
        if name:
            tasks.setdefault(name, section)
            points += float(course.get("points", 0))
    return tasks, points


def plan(unit: Unit, root: Path = ROOT) -> UnitPlan:
    lesson = _cells(root / "notebooks" / unit.lesson)
    words = sum(len(_text(c).split()) for c in lesson if c["cell_type"] == "markdown")
    code = sum(1 for c in lesson if c["cell_type"] == "code")
    questions = sum(1 for c in lesson if "question" in (c.get("metadata", {}).get("course") or {}))
    tasks, points = ({}, 0.0) if unit.exercise is None else _exercise_tasks(_cells(root / "solutions" / unit.exercise))
    return UnitPlan(unit, words, code, questions, points, tasks)


def time_table(root: Path = ROOT) -> str:
    """One line per unit: the lesson's size and minutes, the exercise's points and minutes."""
    rows = [f"{'unit':<5}{'lesson':>7}{'questions':>10}{'code cells':>11}{'points':>7}{'exercise':>9}{'total':>7}"]
    total = 0.0
    for unit in UNITS:
        p = plan(unit, root)
        minutes = p.lesson_minutes + p.exercise_minutes
        total += minutes
        rows.append(
            f"{unit.number:<5}{p.lesson_minutes:>5.0f} m{p.questions:>10}{p.code_cells:>11}{p.points:>7g}"
            f"{p.exercise_minutes:>7.0f} m{minutes:>5.0f} m"
        )
    rows.append(f"{'all':<5}{'':>44}{total:>5.0f} m  (about {total / 60:.0f} hours)")
    return "\n".join(rows)


def objectives(unit: Unit, root: Path = ROOT) -> str:
    """The unit's objectives, each with where it is assessed ("exercise §2"), or "lesson questions"."""
    p = plan(unit, root)
    lines = [f"{unit.number} {unit.title}: a student can"]
    for objective in unit.objectives:
        sections = sorted({p.tasks[t] for t in objective.assessed_by if t in p.tasks}, key=lambda s: int(s[1:] or 0))
        where = f"exercise {', '.join(sections)}" if sections else "the lesson's questions"
        lines.append(f"  - {objective.text}  [{where}]")
    return "\n".join(lines)
