# Two commands for a fresh Debian machine with Python 3.11 (no conda needed):
#   make lab    set everything up and open the course in JupyterLab
#   make test   run every test (unit, property, notebooks under nbval, exercises, real network)
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LAB_IP   ?= 127.0.0.1
LAB_PORT ?= 8888
# Jupyter refuses to run as root unless told; a classroom VM or container often is root.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
PYTEST_ARGS ?=

.PHONY: lab test test-fast bench release refresh clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

lab: $(STAMP)
	@echo "Starting JupyterLab; open the URL printed below (token included)."
	$(VENV)/bin/jupyter lab --no-browser --ip=$(LAB_IP) --port=$(LAB_PORT) $(LAB_ROOT) \
	    --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb

# Unit, property and interop tests, then every lesson and solution under nbval
# (stored outputs are compared), then the exercise checks.
test: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider tests $(PYTEST_ARGS)
	$(PY) -m pytest -p no:cacheprovider --nbval --nbval-current-env \
	    --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks solutions $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider -x -q tests -m "not slow"

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m refimpl bench

release: $(STAMP)
	$(PY) -m refimpl release solutions exercises

# After editing lessons: make refresh NB="notebooks/03_dhcp_lease_life.ipynb solutions/03_dhcp_lease_life.ipynb"
refresh: $(STAMP)
	$(PY) -m refimpl refresh $(NB)
	$(PY) -m refimpl release solutions exercises

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
