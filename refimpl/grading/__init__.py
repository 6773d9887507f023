"""Tools for teachers (and one for students): release, grade, self-check.

- ``release``          turns ``solutions/NN.ipynb`` into ``exercises/NN.ipynb``: every
                       solution region becomes a stub, hidden checks are left out.
- ``student_release``  writes the course as students get it: lessons, exercises,
                       refimpl, README, requirements; no solutions, no hidden checks.
- ``grade``            grades submissions: plans what runs (``assemble``), runs it in
                       a bubblewrap sandbox (``sandbox``, ``runner``), and compares
                       each check's answer outside the sandbox.
- ``check``            the student's self-check: the saved notebook, run afresh,
                       against the public checks.
- ``notebook``         notebook conventions shared by all: check cells, hidden
                       checks, solution regions.
- ``feedback``         turns results into a report a student can act on.
- ``python_source``    parses student code from the grader's threads, one at a time.
- ``refresh``          re-runs an edited notebook and stores it tidy for nbval.

The teacher's guide is ``notebooks/99_for_teachers.ipynb``.
"""
