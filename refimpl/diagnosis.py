"""Diagnosis tasks: a broken run, the rule it breaks, and the one setting that mends it (issue 12).

A diagnosis task gives the student a run that goes wrong. The student reads the
trace, names the violated rule with its RFC section (``"RFC 2131 §4.1"``) and
changes one setting of the run to mend it; the grader runs the mended scenario
and asks :meth:`Diagnosis.problems` whether it is healthy now.

Every diagnosis scenario has the same shape::

    run = scenarios.diagnose_broadcast_ignored()                      # the broken run
    run = scenarios.diagnose_broadcast_ignored({"lease_time": 600})  # some other change
    run.settings                                                      # what it ran with

``mend`` is a dict of settings to change (names from the scenario's table of
settings; an unknown name is a ``ValueError`` that lists the known ones), and
every scenario takes ``seed`` too. The faults themselves are named flags on the
thing that has them, off by default (:mod:`refimpl.dhcp.faults`,
``ServerConfig.apprentice_bug`` of :mod:`refimpl.tftp.server`, and for FTP the
NAT box without its helper, :func:`refimpl.ftp.sim_glue.add_ftp_helper`).

A health check asks three things of a run, so a change that only hides the
fault does not count as a mend: did the situation that shows the fault still
happen (a client that set the BROADCAST bit, a duplicate ACK...), did the rule
hold, and did the story end well (the client bound, the listing arrived).

=============================  ========  =================  ================================
diagnosis                      protocol  rule               scenario
=============================  ========  =================  ================================
``dhcp-broadcast-ignored``     DHCP      RFC 2131 §4.1      ``dhcp.scenarios.diagnose_broadcast_ignored``
``dhcp-relay-nak-broadcast``   DHCP      RFC 2131 §4.1      ``dhcp.scenarios.diagnose_relay_nak``
``dhcp-renew-time``            DHCP      RFC 2131 §4.4.5    ``dhcp.scenarios.diagnose_renew_time``
``ftp-port-through-nat``       FTP       RFC 959 §4.1.2     ``ftp.scenarios.diagnose_port_through_nat``
``tftp-sorcerers-apprentice``  TFTP      RFC 1123 §4.2.3.1  ``tftp.scenarios.diagnose_sorcerers_apprentice``
=============================  ========  =================  ================================

This module imports no scenario at import time (the scenarios import
:func:`with_mend` from here); :func:`all_diagnoses` builds the table on first use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

RULE_RE = re.compile(r"RFC\s*(?P<rfc>\d+)(?:[\s,]*(?:§|section|sec\.?)?\s*(?P<section>\d+(?:\.\d+)*))?", re.I)
"""``"RFC 2131 §4.1"``, ``"rfc2131 section 4.1"``, ``"RFC 2131, 4.1"``: the forms a rule may be written in."""


def parse_rule(text: Any) -> tuple[str, str] | None:
    """``"RFC 2131 §4.1"`` -> ``("2131", "4.1")``; ``("1579", "")`` for an RFC without a section; None if no RFC."""
    if not isinstance(text, str):
        return None
    found = RULE_RE.search(text)
    if found is None:
        return None
    return found.group("rfc").lstrip("0"), (found.group("section") or "").rstrip(".")


def with_mend(defaults: Mapping[str, Any], mend: Mapping[str, Any] | None) -> dict[str, Any]:
    """The settings of a diagnosis run: ``defaults`` (the broken run) with ``mend`` applied.

    An unknown name is a ``ValueError`` listing the known ones, so a typo is not
    mistaken for a mend that did not work.
    """
    settings = dict(defaults)
    for name, value in (mend or {}).items():
        if name not in settings:
            known = ", ".join(sorted(settings))
            raise ValueError(f"{name!r} is not a setting of this run; its settings are: {known}")
        settings[name] = value
    return settings


@dataclass(frozen=True)
class Diagnosis:
    """One diagnosis task: the broken run, the rule it breaks, the settings that mend it."""

    name: str
    protocol: str
    rule: str  # "RFC 2131 §4.1": the rule the broken run breaks
    quote: str  # the rule's words, as the RFC has them
    fault: str  # what goes wrong, for the teacher (the student finds it in the trace)
    settings: Mapping[str, Any]  # the broken run's settings: what a student may change
    mends: tuple[Mapping[str, Any], ...]  # changes of one setting that mend it
    scenario: Callable[..., Any]  # scenario(mend=None, seed=...) -> the run
    check: Callable[[Any], list[str]]  # the problems of a run; [] means healthy
    also: tuple[str, ...] = field(default=())  # other citations of the same rule, accepted too

    def run(self, mend: Mapping[str, Any] | None = None, seed: int | None = None):
        """The scenario with ``mend`` applied (None: the broken run); ``seed`` None: the scenario's own default."""
        return self.scenario(mend) if seed is None else self.scenario(mend, seed=seed)

    def problems(self, run) -> list[str]:
        """What is wrong with ``run``, one line each; empty when it is healthy."""
        return self.check(run)

    def healthy(self, run) -> bool:
        return not self.check(run)

    def names_rule(self, text: Any) -> bool:
        """Does ``text`` cite this diagnosis's rule (or one of ``also``)? An RFC without a section
        matches only an accepted citation that has none either."""
        said = parse_rule(text)
        return said is not None and said in {parse_rule(rule) for rule in (self.rule, *self.also)}

    def changed(self, mend: Any) -> list[str]:
        """The settings ``mend`` really changes (names whose value differs from the broken run's)."""
        if not isinstance(mend, Mapping):
            return []
        return [name for name, value in mend.items() if name in self.settings and self.settings[name] != value]

    def form(self, answer: Any) -> list[str]:
        """What a public check prints about ``{"rule": ..., "mend": {...}}``: its form only,
        the same lines for every well-formed answer, right or wrong."""
        if not isinstance(answer, Mapping):
            return [f"not a dict with 'rule' and 'mend': {answer!r}"]
        rule, mend = answer.get("rule"), answer.get("mend")
        lines = ["rule: cites an RFC" if parse_rule(rule) else f"rule: MISSING (write it as 'RFC 1234 §5.6'): {rule!r}"]
        if not isinstance(mend, Mapping) or not mend:
            lines.append(f"mend: MISSING (a dict of one setting): {mend!r}")
        elif any(name not in self.settings for name in mend):
            unknown = [name for name in mend if name not in self.settings]
            lines.append(f"mend: not settings of this run: {unknown}")
        elif len(mend) != 1:
            lines.append(f"mend: {len(mend)} settings, not one")
        else:
            lines.append("mend: one setting of this run")
        return lines

    def judge(self, answer: Any, seeds: tuple[int, ...] = (1, 2)) -> list[str]:
        """What a hidden check prints: is the rule right, and is the mended run healthy on every seed?"""
        form = self.form(answer)
        rule_ok = isinstance(answer, Mapping) and self.names_rule(answer.get("rule"))
        lines = ["rule: right" if rule_ok else "rule: not the rule this run breaks"]
        if form[-1] != "mend: one setting of this run":
            return [*lines, form[-1]]
        if not self.changed(answer["mend"]):
            return [*lines, "mend: that is the value this run already has"]
        for seed in seeds:
            try:
                problems = self.problems(self.run(answer["mend"], seed=seed))
            except Exception as exc:  # a value the scenario cannot take: no mend
                problems = [f"the scenario refused it ({type(exc).__name__}: {exc})"]
            lines.append(f"mended run, seed {seed}: " + ("healthy" if not problems else f"still broken: {problems[0]}"))
        return lines


_TABLE: dict[str, Diagnosis] = {}


def all_diagnoses() -> dict[str, Diagnosis]:
    """Every diagnosis task by name (the table of the module docstring), built on first use."""
    if not _TABLE:
        from refimpl.dhcp import scenarios as dhcp
        from refimpl.ftp import scenarios as ftp
        from refimpl.tftp import scenarios as tftp

        for entry in (*dhcp.DIAGNOSES, *ftp.DIAGNOSES, *tftp.DIAGNOSES):
            _TABLE[entry.name] = entry
    return dict(_TABLE)


def get(name: str) -> Diagnosis:
    """One diagnosis by name: ``get("dhcp-broadcast-ignored")``."""
    table = all_diagnoses()
    if name not in table:
        raise KeyError(f"no diagnosis {name!r}; there are: {', '.join(table)}")
    return table[name]


def table() -> str:
    """The diagnoses as text: name, protocol, rule, the setting(s) that mend it."""
    rows = []
    for d in all_diagnoses().values():
        mends = " or ".join(", ".join(f"{k}={v!r}" for k, v in m.items()) for m in d.mends)
        rows.append(f"{d.name:<27} {d.protocol:<5} {d.rule:<18} mend: {mends}")
    return "\n".join(rows)


__all__ = ["Diagnosis", "all_diagnoses", "get", "parse_rule", "table", "with_mend"]
