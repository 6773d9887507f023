"""Questions inside the lessons: predict, then run the cell that shows the answer.

* :mod:`refimpl.quiz.question`: the three kinds (choice, number, short answer),
  each with a ``check`` that says right or wrong and why, and the static HTML
  (answer in a closed ``<details>``) that works with no kernel;
* :mod:`refimpl.quiz.bank`: the lessons' questions by id, tagged with the
  Wireshark-lab topics they cover;
* :mod:`refimpl.quiz.from_trace`: ``quiz(trace)``, questions about the numbers
  of one run;
* :mod:`refimpl.quiz.widget`: ``ask(...)``, which shows a question in a notebook
  (ipywidgets imported only there).

A lesson cell::

    from refimpl.quiz import ask, quiz
    ask("02-xid-four-messages")
    ask(quiz(run.trace))
"""

from refimpl.quiz.from_trace import quiz
from refimpl.quiz.question import Choice, Number, Short, Verdict
from refimpl.quiz.widget import ask

__all__ = ["Choice", "Number", "Short", "Verdict", "ask", "quiz"]
