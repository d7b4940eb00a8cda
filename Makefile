# securityhub-member-account: build, demo, test, package, deploy.
# Every target installs what it needs (Python venv from PyPI, zig and cargo-zigbuild, npm packages).

VENV      ?= .venv
PYTHON    := $(VENV)/bin/python
# The debug binary the demo and the integration tests run. Built with --all-targets so that it has the
# same dependency features as `cargo test` and the two share one build of the AWS SDK crates.
BOOTSTRAP := target/debug/bootstrap
RELEASE_BOOTSTRAP := target/package/x86_64-unknown-linux-gnu/release/bootstrap

.PHONY: all venv build demo test lint unit integration cdk-test fuzz bench tools package deploy lint-templates test-package sar-package clean

all: build

# --- set-up -------------------------------------------------------------------------------------------------
# The pinned requirements, then the test support's packages `emulator` and `harness` (tests/pyproject.toml),
# editable: pytest, the emulator's server process, the demo and the bench import them without sys.path edits.
$(VENV)/.installed: tests/requirements.txt tests/pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt -e tests
	touch $@

venv: $(VENV)/.installed

build:
	cargo build --all-targets --locked

cdk-example/node_modules/.package-lock.json: cdk-example/package-lock.json
	cd cdk-example && npm ci --no-audit --no-fund

# --- the two commands of the README ---------------------------------------------------------------------------
demo: venv build
	$(PYTHON) scripts/demo.py

# Everything: format, lint, unit tests, the release package and its glibc check, integration tests on the
# emulator, template lint, CDK tests and synth.
test: lint unit package
	$(MAKE) integration PACKAGE_TESTS=required
	$(MAKE) cdk-test

# Rust (rustfmt, clippy), the Python of tests/ and scripts/ (ruff.toml) and the CDK construct library's types.
lint: venv cdk-example/node_modules/.package-lock.json
	cargo fmt --check
	cargo clippy --all-targets --locked -- -D warnings
	$(PYTHON) -m ruff check tests scripts
	$(PYTHON) -m ruff format --check tests scripts
	cd cdk-example && npx tsc --noEmit -p .

unit: build
	cargo test --all-targets --locked

# The package checks run when dist/bootstrap.zip exists; `make test` builds it first and requires them.
# The CDK packages are for tests/test_cloudformation_engine.py, which deploys the CDK app's synthesized stack.
integration: venv build cdk-example/node_modules/.package-lock.json
	PACKAGE_TESTS=$(PACKAGE_TESTS) BOOTSTRAP_BINARY=$(abspath $(BOOTSTRAP)) $(PYTHON) -m pytest -q

# The construct library's assertion tests (the example app with cdk-nag included), the example app's synth,
# then the packages as users get them: the npm tarball in a fresh app, the Python wheel in a fresh venv (both
# need dist/bootstrap.zip, which they carry). Times are in cdk-example/README.md.
cdk-test: cdk-example/node_modules/.package-lock.json
	cd cdk-example && npm test
	cd cdk-example/app && TS_NODE_TRANSPILE_ONLY=true npx cdk synth | grep -q 'Custom::SecurityHubMemberAccount'
	$(MAKE) cdk-package-test

.PHONY: cdk-package-test
cdk-package-test: cdk-example/node_modules/.package-lock.json
	@test -f dist/bootstrap.zip || { echo "dist/bootstrap.zip is missing: run make package first" >&2; exit 1; }
	cdk-example/package-tests/typescript.sh
	CDK_PYTHON_VENV=$(abspath $(VENV))/cdk-python cdk-example/package-tests/python.sh

# Property-based fuzzing of event parsing, property validation, response size and the URL allowlist,
# bounded in cases (about a minute on 2 cores); `cargo test` runs the same properties with 256 cases.
fuzz:
	PROPTEST_CASES=$${PROPTEST_CASES:-20000} cargo test --locked --lib fuzz

# Not part of `make test`: latency, account-creation detection, cold start, memory and package size.
bench: venv package
	BOOTSTRAP_BINARY=$(abspath $(RELEASE_BOOTSTRAP)) $(PYTHON) scripts/bench.py

# --- packaging and deployment -----------------------------------------------------------------------------------
# cargo-zigbuild (crates.io) and zig (PyPI ziglang, into the venv); each skipped when already installed.
tools: venv
	VENV=$(abspath $(VENV)) scripts/install-zigbuild.sh

# dist/bootstrap.zip (x86_64, glibc <= 2.34 for provided.al2023); dist/bootstrap-arm64.zip too when the
# aarch64-unknown-linux-gnu Rust target is installed.
package: venv
	VENV=$(abspath $(VENV)) scripts/package.sh

# The provider as an AWS Serverless Application Repository application, in dist/sar/: the SAM template (from
# cloudformation/provider.yaml, with the application's metadata), the zip of `make package` and the readme
# (scripts/sar-package.py). SOURCE_CODE_URL=https://... (the public source repository) is required; publish with
# `sam package` and `sam publish`.
SAR_ZIP = $(if $(filter arm64,$(ARCHITECTURE)),dist/bootstrap-arm64.zip,dist/bootstrap.zip)
sar-package:
	@test -f $(SAR_ZIP) || { echo "$(SAR_ZIP) is missing: run make package first" >&2; exit 1; }
	$(MAKE) venv
	$(PYTHON) scripts/sar-package.py

# Needs the AWS CLI and credentials: DEPLOY_BUCKET=my-bucket make deploy (see scripts/deploy.sh).
deploy: venv
	VENV=$(abspath $(VENV)) scripts/deploy.sh

lint-templates: venv
	$(PYTHON) -m pytest -q tests/test_templates.py

test-package: package
	PACKAGE_TESTS=required $(PYTHON) -m pytest -q tests/test_package.py

clean:
	cargo clean
	rm -rf dist $(VENV) cdk-example/node_modules cdk-example/app/cdk.out cdk-example/dist
