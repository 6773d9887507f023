"""Entry point of the grading subprocess: ``python -m refimpl.grading.runpytest ARGS``.

Same as ``python -m pytest ARGS`` with one saving: jsonschema (pulled in by
nbformat) imports ``rfc3987_syntax`` when present, which builds a grammar for
~2.5 s at import, only to check the "iri" string format that notebooks never
use. Blocking that import makes every graded submission that much faster.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # `import rfc3987_syntax` now raises ImportError

import pytest  # noqa: E402

if __name__ == "__main__":
    sys.exit(pytest.main(sys.argv[1:]))
