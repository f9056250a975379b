# Two commands on a fresh Debian machine: `make plan` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BUILD  ?= phase2

# Debian packages the test suite drives for real (see README "Tests").
APT_PACKAGES := nftables iproute2 openssh-server openssh-client podman runc debootstrap \
	ibsim-utils opensm infiniband-diags ibutils chromium chromium-driver poppler-utils \
	bind9-utils postgresql redis-server

# The lab's VMs (tests/vm, the Vagrantfile): Vagrant with libvirt under qemu emulation.
APT_PACKAGES += vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients qemu-system-x86 \
	qemu-utils dnsmasq-base

.PHONY: plan test venv venv-dev apt services lint typecheck bench bench-lab golden clean

$(BIN)/rscctl: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	$(BIN)/python -m compileall -q rscctl  # bytecode once: start-up even where PYTHONDONTWRITEBYTECODE is set
	touch $@

$(VENV)/.dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -m compileall -q rscctl
	touch $@

venv: $(BIN)/rscctl
venv-dev: $(VENV)/.dev

plan: venv
	$(BIN)/rscctl plan $(BUILD)

# Installs the Debian packages only when run as root and only those missing.
apt:
	@if [ "$$(id -u)" = 0 ]; then \
	  missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	  if [ -n "$$missing" ]; then \
	    echo "apt: installing $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi; \
	else echo "apt: not root, system packages not installed (tests needing them will skip)"; fi

# PostgreSQL and Redis on loopback for the NetBox tests (tests/netbox/harness.py), started as
# root when not running (no systemd here: pg_ctlcluster and redis-server --daemonize).
services: apt
	@if [ "$$(id -u)" = 0 ]; then \
	  for c in $$(pg_lsclusters -h 2>/dev/null | awk '$$4 != "online" {print $$1 "/" $$2}'); do \
	    pg_ctlcluster $${c%/*} $${c#*/} start; done; \
	  redis-cli ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 \
	    --port 6379 --save '' --appendonly no >/dev/null; \
	fi

# libvirt's daemons for the VM tests, started as root when not running (no systemd here).
# The box is built by the tests (`rscctl lab box`: only when its recipe changed) and every
# libvirt object is removed after them (`rscctl lab vm-clean`).
.PHONY: libvirt
libvirt: apt
	@if [ "$$(id -u)" = 0 ]; then \
	  pgrep -x virtlogd >/dev/null || virtlogd --daemon; \
	  pgrep -x libvirtd >/dev/null || libvirtd --daemon; \
	  for i in 1 2 3 4 5 6 7 8 9 10; do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 1; done; \
	fi

# The VM tests (tests/vm, marker vm) are part of make test: 7 min 43 s on this 2-core machine
# when quiet (33.7 min before the roles wrote a role's files in one module call and the tests
# applied with --no-canary); `make test-vm` runs them alone.
test: venv-dev apt services libvirt
	$(BIN)/ruff check rscctl tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q

.PHONY: test-vm
test-vm: venv-dev apt libvirt
	$(BIN)/pytest -q -m vm tests/vm

lint: venv-dev
	$(BIN)/ruff check rscctl tests benchmarks
	$(BIN)/mypy

bench: venv-dev
	$(BIN)/python benchmarks/plan_bench.py --compute-only
	$(BIN)/python benchmarks/plan_bench.py
	$(BIN)/python benchmarks/export_bench.py
	$(BIN)/python benchmarks/formats_bench.py
	$(BIN)/python benchmarks/firewall_bench.py
	$(BIN)/python benchmarks/pki_bench.py

# Golden files of every output kind (tests/golden/<kind>/, from tests/golden/small.yaml):
# rewrite them after an intended change, then review the printed git diff and commit.
golden: venv-dev
	$(BIN)/python -m tests.golden.regen

# 32-DGX lab up and down (root: namespaces and podman; the first run builds the image).
bench-lab: venv-dev apt
	$(BIN)/python benchmarks/lab_bench.py

clean:
	rm -rf $(VENV) out .lab
