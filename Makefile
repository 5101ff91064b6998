# Baton: two commands set everything up on a fresh machine.
#   make demo   the full nightly pipeline over the sandbox (embedded warehouse unless WAREHOUSE_URL is set)
#   make test   the whole test suite against a real PostgreSQL
# Both install what they need first. Everything Baton writes lives under .baton/ (git-ignored).

PYTHON ?= python3.11
UV_VERSION := 0.13.9
STATE := $(CURDIR)/.baton
TOOLS := $(STATE)/tools
UV := $(TOOLS)/bin/uv
VENV := $(CURDIR)/.venv

export UV_CACHE_DIR := $(STATE)/cache/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
export PIP_NO_CACHE_DIR := 1

.PHONY: install java demo test bench warehouse-start warehouse-stop clean help

help:
	@echo "make demo    run the nightly pipeline over the sandbox and print what it built"
	@echo "make test    run the test suite (WAREHOUSE_URL, else an embedded PostgreSQL)"
	@echo "make install create .venv from uv.lock"
	@echo "make bench   run the load benchmark (baton bench load)"

$(UV):
	@command -v $(PYTHON) >/dev/null || { echo "Baton needs Python 3.11 ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) uv.lock pyproject.toml sandbox/pyproject.toml
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(VENV)/.installed java

# Spark (the sameness test, `WAREHOUSE_URL=spark:///...`) needs a Java 17 runtime: Debian's, where none is found.
java:
	@command -v java >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
	  && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; } \
	  || echo "no java: Spark tests will be skipped (install openjdk-17-jre-headless)"; }

demo: install
	$(VENV)/bin/baton demo

test: install
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

bench: install
	$(VENV)/bin/baton bench load

warehouse-start: install
	$(VENV)/bin/baton warehouse start

warehouse-stop: install
	$(VENV)/bin/baton warehouse stop

clean:
	-$(VENV)/bin/baton warehouse stop
	rm -rf $(VENV) $(STATE) dbt_project/target dbt_project/logs
