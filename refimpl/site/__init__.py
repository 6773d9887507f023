"""The course as a static web site: read it without installing anything.

``python -m refimpl site`` (``make site``) writes ``site/``: every lesson
and exercise as an HTML page with the outputs the notebooks store, for a
reader on GitHub Pages, a school's web server or a laptop without Python.

Two things a plain ``jupyter nbconvert`` gets wrong for this course:

- a saved ipywidgets view (a stepper, a packet builder) shows as its Python
  repr, ``VBox(children=...)``, unless the page loads a widget renderer from a
  CDN, which an offline classroom cannot reach. :mod:`.static_widgets` draws
  the view from the widget state the notebook saved, as plain HTML: the
  picture, the text and the controls as they were left, marked as needing a
  kernel.
- the page would ask the internet for require.js and MathJax. The lessons use
  neither, so :mod:`.build` leaves them out and then checks that no page
  fetches anything from another host.

What a student may not see stays out: no solutions, no teacher's guide, and the
same audit as the student release (no hidden check's code or answer, no
solution region).
"""
