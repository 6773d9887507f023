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

.PHONY: lab test test-fast lint format bench release refresh site clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

# JupyterLab's terminal runs bash with the venv activated after the user's own ~/.bashrc (which may put
# another python first, e.g. pyenv), so the grading and lab commands the notebooks print run as printed.
# Jupyter reads the setting from the venv's own etc/jupyter.
LAB_RC  := $(CURDIR)/$(VENV)/lab-bashrc
LAB_CFG := $(VENV)/etc/jupyter/jupyter_server_config.json
lab: $(STAMP)
	@mkdir -p $(dir $(LAB_CFG))
	@printf '[ -f ~/.bashrc ] && . ~/.bashrc\n. "%s/bin/activate"\n' "$(CURDIR)/$(VENV)" > $(LAB_RC)
	@printf '{"ServerApp": {"terminado_settings": {"shell_command": ["bash", "--rcfile", "%s", "-i"]}}}\n' \
	    "$(LAB_RC)" > $(LAB_CFG)
	@echo "Starting JupyterLab; open the URL printed below (token included)."
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" VIRTUAL_ENV="$(CURDIR)/$(VENV)" \
	    $(VENV)/bin/jupyter lab --no-browser --ip=$(LAB_IP) --port=$(LAB_PORT) $(LAB_ROOT) \
	    --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb

# Unit, property and interop tests, then every lesson and solution under nbval
# (stored outputs are compared), then the exercise checks.
test: $(STAMP) lint
	$(PY) -m pytest -p no:cacheprovider tests $(PYTEST_ARGS)
	$(PY) -m pytest -p no:cacheprovider --nbval --nbval-current-env \
	    --nbval-sanitize-with tests/nbval_sanitize.cfg notebooks solutions $(PYTEST_ARGS)

# Style by tools, not by hand (settings in pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test-fast: $(STAMP)
	$(PY) -m pytest -p no:cacheprovider -x -q tests -m "not slow"

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m refimpl bench

release: $(STAMP)
	$(PY) -m refimpl release solutions exercises

# The course as a static web site (no solutions, nothing fetched from the internet): open site/index.html
site: $(STAMP)
	$(PY) -m refimpl site site

# After editing lessons: make refresh NB="notebooks/03_dhcp_lease_life.ipynb solutions/03_dhcp_lease_life.ipynb"
refresh: $(STAMP)
	$(PY) -m refimpl refresh $(NB)
	$(PY) -m refimpl release solutions exercises

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build site *.egg-info
