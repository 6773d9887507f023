"""Inputs of one's own: every student's exercise draws its MACs, xids, pools and ports from their id.

When every student gets the same numbers, one student's answers are every
student's answers. So an exercise notebook starts with::

    from refimpl.variant import Variant
    variant = Variant("02_dhcp_lease", student="s1234567")   # your id, as on the class roster

and asks for its inputs by name: ``variant.mac("client")``,
``variant.xid("discover")``, ``variant.pool("lan", 4)``. A value depends only on
the exercise, the student id and the name asked for (a SHA-256 of the three),
never on the order of the calls, so a hidden check that asks for
``variant.mac("client")`` gets the same MAC as the student's cell did, and the
same id always gives the same numbers (a student's run is reproducible).

While a notebook is graded, the grader puts the student's id from the class
roster into the environment (``COURSE_STUDENT_ID``), and that id wins over the
one typed in the notebook: copying a classmate's notebook, id and all, still
gives the copier's own inputs. The grader recomputes each student's expected
answers by running the teacher's solution with the same id
(:mod:`refimpl.grading.grade`); it never trusts the student's run for them.

Addresses come only from the documentation ranges of RFC 5737 (192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24) and MACs are locally administered unicast
(RFC 7042 §2.1), so no exercise input names a real host.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import random

#: The environment variable through which the grader names the student being graded.
GRADED_ID = "COURSE_STUDENT_ID"
#: What the exercise notebooks ship with; a student replaces it with their own id.
PLACEHOLDER = "your-student-id"
#: RFC 5737 §3: "The blocks 192.0.2.0/24 (TEST-NET-1), 198.51.100.0/24 (TEST-NET-2), and
#: 203.0.113.0/24 (TEST-NET-3) are provided for use in documentation."
TEST_NETS = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")


class VariantError(ValueError):
    """An id or a request that cannot give inputs (an empty id, an impossible range)."""


class Variant:
    """The inputs of one student for one exercise, each drawn by name."""

    def __init__(self, exercise: str, student: str = PLACEHOLDER):
        graded = os.environ.get(GRADED_ID, "").strip()
        chosen = graded or str(student).strip()
        if not chosen:
            raise VariantError("the student id is empty: write yours between the quotes, e.g. student='s1234567'")
        if not str(exercise).strip():
            raise VariantError("the exercise name is empty")
        self.exercise = str(exercise).strip()
        self.student = chosen
        #: True when the grader's id replaced the notebook's (see the module docstring).
        self.from_grader = bool(graded)

    def __repr__(self) -> str:
        return f"Variant({self.exercise!r}, student={self.student!r})"

    # ------------------------------------------------------------------ the one source of every value

    def _digest(self, kind: str, name: str) -> bytes:
        text = "\x1f".join((self.exercise, self.student, kind, str(name)))
        return hashlib.sha256(text.encode("utf-8")).digest()

    def rng(self, name: str) -> random.Random:
        """A ``random.Random`` of this student's own, e.g. to seed a scenario: ``scenarios.basic(rng=...)``."""
        return random.Random(int.from_bytes(self._digest("rng", name)[:8], "big"))

    def seed(self, name: str) -> int:
        """A seed (0 .. 2**31-1) for a function that takes ``seed=``."""
        return int.from_bytes(self._digest("seed", name)[:4], "big") & 0x7FFF_FFFF

    def number(self, name: str, low: int, high: int) -> int:
        """An integer from ``low`` to ``high`` inclusive."""
        if high < low:
            raise VariantError(f"number({name!r}): {low} .. {high} is empty")
        return self.rng(f"number:{name}").randint(low, high)

    def pick(self, name: str, choices):
        """One of ``choices`` (a list or tuple)."""
        choices = list(choices)
        if not choices:
            raise VariantError(f"pick({name!r}): nothing to pick from")
        return self.rng(f"pick:{name}").choice(choices)

    def shuffled(self, name: str, items) -> list:
        items = list(items)
        self.rng(f"shuffle:{name}").shuffle(items)
        return items

    # ------------------------------------------------------------------ protocol values

    def xid(self, name: str) -> int:
        """A 32-bit transaction id, never 0."""
        return self.number(f"xid:{name}", 1, 0xFFFF_FFFF)

    def mac(self, name: str) -> str:
        """A locally administered unicast MAC (first octet ``x2``, ``x6``, ``xA`` or ``xE``)."""
        octets = bytearray(self._digest("mac", name)[:6])
        octets[0] = (octets[0] & 0xFC) | 0x02  # locally administered, not multicast
        return ":".join(f"{b:02x}" for b in octets)

    def network(self, name: str) -> ipaddress.IPv4Network:
        """One of the three documentation /24s."""
        return ipaddress.IPv4Network(self.pick(f"network:{name}", TEST_NETS))

    def address(self, name: str, network: str | None = None, *, low: int = 10, high: int = 250) -> str:
        """A host address in ``network`` (default: this name's own documentation /24)."""
        net = ipaddress.IPv4Network(network) if network else self.network(name)
        return str(net.network_address + self.number(f"address:{name}", low, high))

    def pool(self, name: str, size: int, network: str | None = None) -> list[str]:
        """``size`` consecutive addresses in a documentation /24, as a DHCP server's pool."""
        if not 1 <= size <= 200:
            raise VariantError(f"pool({name!r}, {size}): a pool here holds 1 to 200 addresses")
        net = ipaddress.IPv4Network(network) if network else self.network(f"pool:{name}")
        first = self.number(f"pool:{name}", 10, 250 - size)
        return [str(net.network_address + first + k) for k in range(size)]

    def port(self, name: str, low: int = 1024, high: int = 65535) -> int:
        """A TCP or UDP port, unprivileged by default."""
        return self.number(f"port:{name}", low, high)

    def filename(self, name: str, suffix: str = ".txt") -> str:
        words = ("notes", "lab", "boot", "config", "report", "image", "draft", "data", "backup", "readme")
        return f"{self.pick(f'file:{name}', words)}-{self.number(f'file:{name}', 10, 99)}{suffix}"
