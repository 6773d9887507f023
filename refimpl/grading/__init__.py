"""Tools for teachers: release exercises from solutions, and grade submissions.

- ``release``   turns ``solutions/NN.ipynb`` into ``exercises/NN.ipynb``: every
                solution region becomes a stub that raises ``NotImplementedError``.
- ``grade``     runs each student's notebook under pytest + nbval and scores the
                check cells, which always come from the assignment (never from the
                student's file).
- ``notebook``  helpers shared by both: which cell is a check, building the
                notebook that is actually run.
- ``guard``     the small piece of the grader that runs *inside* the student's
                kernel and keeps check cells honest.
- ``sandbox``   runs pytest + nbval in a subprocess with time, memory and
                network limits.
- ``feedback``  turns results into a report a student can act on.

The teacher's guide is ``notebooks/99_for_teachers.ipynb``.
"""
