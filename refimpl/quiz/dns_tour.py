"""The questions of lesson 08 (DNS and DDNS), joined into :mod:`refimpl.quiz.bank`.

A module of their own, like lessons 09 and 10's; the bank adds them to
``QUESTIONS`` and every bank test checks them (right answer right, wrong
answers wrong, an RFC section quoted as worded).
"""

from __future__ import annotations

from refimpl.quiz.question import Question

QUESTIONS: tuple[Question, ...] = ()
