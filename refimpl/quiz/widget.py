"""``ask(question)``: show a question in a notebook, for a live kernel and for a static view alike.

A question cell stores two outputs:

1. the question as HTML (and plain text), with the answer and its reason in a
   closed ``<details>``: this is what GitHub, nbviewer or an exported HTML page
   shows, where no Python runs. It is the same on every run, so nbval compares it;
2. a small ipywidgets control (choose / type, then **Check**) that says right or
   wrong and why, by calling the question's ``check``. Its widget view is
   skipped by nbval (model ids are random); its plain-text stand-in says it
   needs a running kernel.

ipywidgets and IPython are imported inside the functions, so importing
:mod:`refimpl.quiz` stays cheap; without ipywidgets only the static part is shown.
"""

from __future__ import annotations

from collections.abc import Iterable

from refimpl.quiz.question import LETTERS, Choice, Number, Question, static_html, static_text

NEEDS_KERNEL = "[Check button: needs a running kernel. The answer is under 'Answer' above.]"


class Static:
    """The static part of a question cell: HTML for viewers, plain text for terminals."""

    def __init__(self, question: Question) -> None:
        self.question = question

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": static_text(self.question), "text/html": static_html(self.question)}


class Control:
    """The live part: the ipywidgets control, with a plain-text stand-in that is the same on every run."""

    def __init__(self, widget) -> None:
        self.widget = widget

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        return dict(bundle, **{"text/plain": NEEDS_KERNEL})


def ask(*questions: str | Question | Iterable[Question]) -> None:
    """Display each question: an id of :mod:`refimpl.quiz.bank`, a :class:`Question`, or an
    iterable of them such as ``quiz(run.trace)``."""
    from IPython.display import display  # only in a notebook

    for question in _flatten(questions):
        display(Static(question))
        widget = control(question)
        if widget is not None:
            display(Control(widget))


def control(question: Question):
    """The ipywidgets box for ``question`` (input, Check button, verdict); None without ipywidgets."""
    try:
        import ipywidgets as widgets
    except ImportError:  # a static environment: the <details> answer is still there
        return None
    if isinstance(question, Choice):
        letters = list(LETTERS[: len(question.options)])
        entry = widgets.ToggleButtons(options=letters, value=None, tooltips=list(question.options))
    elif isinstance(question, Number):
        entry = widgets.Text(placeholder="a number", layout=widgets.Layout(width="14em"))
    else:
        entry = widgets.Text(placeholder="a short answer", layout=widgets.Layout(width="20em"))
    button = widgets.Button(description="Check", button_style="primary")
    verdict = widgets.HTML(value="")

    def on_check(_button) -> None:
        verdict.value = verdict_html(question, entry.value)

    button.on_click(on_check)
    return widgets.VBox([widgets.HBox([entry, button]), verdict])


def verdict_html(question: Question, answer: object) -> str:
    """The verdict as the widget shows it: a mark, then the check's text (escaped)."""
    from refimpl.quiz.question import inline

    if answer is None or str(answer).strip() == "":
        return "<p>Give an answer first.</p>"
    result = question.check(answer)
    colour, mark = ("green", "&#10004;") if result.right else ("firebrick", "&#10008;")
    return f'<p style="color:{colour}">{mark} {inline(result.text)}</p>'


def _flatten(items) -> list[Question]:
    out: list[Question] = []
    from refimpl.quiz import bank

    for item in items:
        if isinstance(item, str):
            out.append(bank.get(item))
        elif isinstance(item, Question):
            out.append(item)
        else:
            out.extend(_flatten(item))
    return out
