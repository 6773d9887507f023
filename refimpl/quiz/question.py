"""A question a lesson asks before it runs the cell that answers it (predict, then run).

Three kinds, each with one ``check(answer) -> Verdict`` that a widget, a test
or a grader can call without a kernel:

* :class:`Choice`: one right option among a few; answered by the option's
  letter (``"B"``), its number from 0, or its text;
* :class:`Number`: a number within ``tolerance``; ``"0x43"``, ``"3600 s"`` and
  ``"1,800"`` are read as numbers;
* :class:`Short`: a short text compared after normalising case, spaces and
  quotes, against a list of accepted alternatives (``"option 54"``, ``"54"``).

Each question carries ``why``: the explanation, with the RFC section that
settles it, shown after a check and inside the static ``<details>``.
Standard library only, so the check logic imports in microseconds.
"""

from __future__ import annotations

import html
import re
import zlib
from dataclasses import dataclass

LETTERS = "ABCDEFGH"


@dataclass(frozen=True)
class Verdict:
    """What a check says: right or not, and why (the explanation with its RFC section)."""

    right: bool
    text: str


@dataclass(frozen=True, kw_only=True)
class Question:
    """What every kind has: an id (the cell's ``course.question``), the prompt, the reason, the topics."""

    id: str
    prompt: str
    why: str
    covers: tuple[str, ...] = ()
    lead: str = "Predict"  # "Read the trace" for questions about a run that is already shown

    def check(self, answer: object) -> Verdict:
        right = self.is_right(answer)
        if right:
            return Verdict(True, f"Right. {self.why}")
        return Verdict(False, f"Not right: the answer is {self.answer_text()}. {self.why}")

    def is_right(self, answer: object) -> bool:  # pragma: no cover - every kind overrides it
        raise NotImplementedError

    def answer_text(self) -> str:  # pragma: no cover - every kind overrides it
        raise NotImplementedError

    def how_to_answer(self) -> str:  # pragma: no cover - every kind overrides it
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class Choice(Question):
    """Multiple choice; ``answer`` is the index of the right option in ``options``."""

    options: tuple[str, ...]
    answer: int

    def __post_init__(self) -> None:
        if not 0 <= self.answer < len(self.options) <= len(LETTERS):
            raise ValueError(f"{self.id}: answer {self.answer} is not one of {len(self.options)} options")

    def chosen(self, answer: object) -> int | None:
        """The option an answer names: a letter, an index or the option's text; None if none."""
        if isinstance(answer, bool):
            return None
        if isinstance(answer, int):
            return answer if 0 <= answer < len(self.options) else None
        text = normalise(str(answer))
        letters = LETTERS[: len(self.options)].lower()
        if len(text) == 1 and text in letters:
            return letters.index(text)
        matches = [i for i, option in enumerate(self.options) if normalise(option) == text]
        return matches[0] if matches else None

    def is_right(self, answer: object) -> bool:
        return self.chosen(answer) == self.answer

    def answer_text(self) -> str:
        return f"{LETTERS[self.answer]}, {self.options[self.answer]}"

    def how_to_answer(self) -> str:
        return "Choose one."


@dataclass(frozen=True, kw_only=True)
class Number(Question):
    """A number; right when within ``tolerance`` of ``answer`` (``unit`` is only shown)."""

    answer: float
    tolerance: float = 0.0
    unit: str = ""

    def is_right(self, answer: object) -> bool:
        value = parse_number(answer)
        return value is not None and abs(value - self.answer) <= self.tolerance

    def answer_text(self) -> str:
        shown = f"{self.answer:g}" if self.answer != int(self.answer) else str(int(self.answer))
        return f"{shown} {self.unit}".strip()

    def how_to_answer(self) -> str:
        notes = [self.unit] if self.unit else []
        notes += [f"within {self.tolerance:g}"] if self.tolerance else []
        shown = " (" + ", ".join(notes) + ")" if notes else ""
        return f"Answer with a number{shown}."


@dataclass(frozen=True, kw_only=True)
class Short(Question):
    """A short text answer; right when, normalised, it equals one of ``answers`` (the first is shown)."""

    answers: tuple[str, ...]
    form: str = "Answer in a word or two."

    def is_right(self, answer: object) -> bool:
        given = normalise(str(answer))
        return bool(given) and given in {normalise(a) for a in self.answers}

    def answer_text(self) -> str:
        return self.answers[0]

    def how_to_answer(self) -> str:
        return self.form


def normalise(text: str) -> str:
    """Lower case, one space between words, no surrounding quotes, backticks or full stops."""
    text = " ".join(text.strip().lower().split())
    return text.strip("'\"`“”‘’. ")


def parse_number(answer: object) -> float | None:
    """``3600``, ``"3600 s"``, ``"1,800"``, ``"0x3903F326"``, ``"87.5 %"`` -> a float; None if no number."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, int | float):
        return float(answer)
    text = str(answer).strip().lower().replace(",", "").replace("_", "")
    found = re.match(r"[-+]?(0x[0-9a-f]+|\d+(\.\d*)?|\.\d+)", text)
    if not found:
        return None
    token = found.group(0)
    return float(int(token, 16)) if "0x" in token else float(token)


def inline(text: str) -> str:
    """Escape ``text`` for HTML; `code` becomes <code>, *words* become <em>, **words** become <strong>."""
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*(\S[^*]*?\S|\S)\*\*", r"<strong>\1</strong>", out)
    # "(0.5 * duration_of_lease)" stays as it is: emphasis starts and ends next to a word.
    return re.sub(r"\*(\S[^*]*?\S|\S)\*", r"<em>\1</em>", out)


def static_html(question: Question) -> str:
    """The question as HTML that needs no kernel: prompt, options, and the answer inside a closed <details>."""
    parts = [
        f'<div class="course-question" data-question="{html.escape(question.id)}">',
        f"<p><strong>{html.escape(question.lead)}:</strong> {inline(question.prompt)}</p>",
    ]
    if isinstance(question, Choice):
        items = "".join(f"<li>{inline(option)}</li>" for option in question.options)
        parts.append(f'<ol type="A">{items}</ol>')
    parts.append(f"<p><em>{inline(question.how_to_answer())}</em></p>")
    parts.append(
        "<details><summary>Answer</summary>"
        f"<p><strong>{inline(question.answer_text())}</strong></p>"
        f"<p>{inline(question.why)}</p></details>"
    )
    parts.append("</div>")
    return "\n".join(parts)


def static_text(question: Question) -> str:
    """The same as plain text, for terminals and for the checks of this course."""
    lines = [f"{question.lead}: {question.prompt}"]
    if isinstance(question, Choice):
        lines += [f"  {LETTERS[i]}. {option}" for i, option in enumerate(question.options)]
    lines += [question.how_to_answer(), f"Answer (try first): {question.answer_text()}. {question.why}"]
    return "\n".join(lines)


def turned_choice(*, options: tuple[str, ...], answer: int, **fields) -> Choice:
    """A Choice with its options turned round by an amount taken from its id, so the right answer is not
    always the option written first or second (the same on every run: the stored outputs stay the same).

    ``options`` are written right answer wherever the author likes, ``answer`` its index there; the
    lesson shows them turned."""
    turn = zlib.crc32(fields["id"].encode()) % len(options)
    turned = options[turn:] + options[:turn]
    return Choice(options=turned, answer=(answer - turn) % len(options), **fields)
