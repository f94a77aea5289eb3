# Gantry — the two set-up commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := demo

# Debian packages Gantry builds against (C libraries via SwiftPM system-library targets).
DEB_PACKAGES := pkg-config libopenblas-dev libfftw3-dev libnifti-dev libhdf5-dev libpng-dev zlib1g-dev libdeflate-dev mricron-data \
                libismrmrd-dev ismrmrd-tools slurm-wlm munge chromium libssl-dev dcm2niix gdb procps
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
GANTRY := .build/release/gantry
DEMO_DIR ?= out/demo

.PHONY: deps build test demo bench fixtures peers clean tsan asan fuzz

## Install any missing Debian packages (quiet and quick when all are present).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

## Release build of the `gantry` binary.
build: deps
	swift build -c release --product gantry

## The whole test suite (XCTest; a closing "N passed, N failed" line summarises it). Built in release
## mode with testing enabled: the numeric tests (registration, reconstruction) run ~10× faster than in
## debug. A separate build folder keeps `make demo`'s release build from being rebuilt with other flags.
TEST_FLAGS := -c release -Xswiftc -enable-testing --scratch-path .build-test
## The suite's time limit (it takes ~3 minutes on 2 cores); reaching it names the test and prints stacks.
TEST_SECONDS ?= 1800
test: deps
	swift build --build-tests $(TEST_FLAGS)
	@scripts/run-tests.sh .build-test/test.log $(TEST_SECONDS) --skip-build --disable-swift-testing $(TEST_FLAGS); status=$$?; \
	summary=$$(grep -E "^\s*Executed [0-9]+ tests?, with [0-9]+ failures?" .build-test/test.log | tail -1); \
	total=$$(echo "$$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/'); \
	failed=$$(echo "$$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/'); \
	if [ -n "$$total" ]; then echo "$$((total - failed)) passed, $$failed failed"; fi; \
	exit $$status

## The test suite under ThreadSanitizer and AddressSanitizer (release builds with the sanitizer, each in
## its own build folder). Any report fails the run: TSan and ASan exit non-zero on their first finding.
## The tests' time limits for the gantry processes they start are stretched (the binary runs slower).
SAN_FLAGS = -c release -Xswiftc -enable-testing
tsan: deps
	swift build --build-tests $(SAN_FLAGS) --sanitize=thread --scratch-path .build-tsan
	GANTRY_TEST_TIMEOUT_SCALE=10 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" swift test --skip-build --disable-swift-testing $(SAN_FLAGS) --sanitize=thread --scratch-path .build-tsan
asan: deps
	swift build --build-tests $(SAN_FLAGS) --sanitize=address --scratch-path .build-asan
	GANTRY_TEST_TIMEOUT_SCALE=3 ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" swift test --skip-build --disable-swift-testing $(SAN_FLAGS) --sanitize=address --scratch-path .build-asan

## libFuzzer on the file parsers (scripts/fuzz: NIfTI + gzip, HDF5 k-space, safetensors, pipeline YAML,
## ITK affine text), seeded from the committed corpora; FUZZ_SECONDS per target (default 60). Crash
## reproducers land in scripts/fuzz/findings/ (commit them as regression cases).
FUZZ_SECONDS ?= 60
fuzz: deps
	@scripts/fuzz/run.sh $(FUZZ_SECONDS)

## The most complete end-to-end job Gantry can do today, on a phantom.
demo: build
	@scripts/demo.sh $(GANTRY) $(DEMO_DIR)

## Benchmarks side by side with the peers (nibabel, SimpleITK, …) → BENCHMARKS.md. Not part of tests.
bench: build peers
	@scripts/peers.sh torch
	@command -v bart >/dev/null && command -v elastix >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends bart elastix >/dev/null; }
	@scripts/bench/run.sh

## Python peers for fixtures and benchmarks, in an ignored virtual environment.
peers:
	@scripts/peers.sh

## Regenerate the committed reference fixtures (nibabel, h5py, scikit-image, BART, PyTorch).
fixtures: peers
	@scripts/peers.sh torch
	@command -v bart >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends bart >/dev/null; }
	.venv-peers/bin/python scripts/fixtures/make_io_fixtures.py
	.venv-peers/bin/python scripts/fixtures/make_metrics_fixtures.py
	.venv-peers/bin/python scripts/fixtures/make_bart_fixtures.py
	.venv-peers/bin/python scripts/fixtures/make_component_fixtures.py
	swift build -c release --product gantry && .venv-peers/bin/python scripts/fixtures/make_itk_transform_fixtures.py .build/release/gantry
	.venv-peers/bin/python scripts/parity/make_nn_fixtures.py
	.venv-peers/bin/python scripts/parity/make_monai_fixtures.py
	.venv-peers/bin/python scripts/parity/make_monai_attention_fixtures.py
	.venv-peers/bin/python scripts/parity/make_atommic_cirim_fixtures.py

clean:
	rm -rf .build .build-test out
