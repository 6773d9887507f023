"""Pictures of traces and messages for the notebooks.

:mod:`refimpl.viz.sequence` draws sequence diagrams (``sequence_diagram``,
``animate_sequence``, ``to_html_player``, ``side_by_side``, ``sequence_text``);
:mod:`refimpl.viz.player` is the ipywidgets stepper. matplotlib and
ipywidgets are imported only inside the drawing functions.
"""
