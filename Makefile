# jclake: `make demo` runs the main job against the built-in simulator; `make test` runs
# every test. Whatever the tests need (the Python readers) is installed into .venv here;
# servers are started on 127.0.0.1 only and stopped afterwards.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
BIN := target/debug/jclake
DEMO_LAKE ?= demo-lake
PYTHON ?= python3
VENV := .venv
# A mid-size org: thousands of users, hundreds of groups, tens of thousands of events.
DEMO_ORG := --seed 7 --users 5000 --systems 1500 --user-groups 300 --system-groups 60 \
	--applications 40 --commands 25 --policies 80 --directories 4 --events 40000 --event-days 30

.PHONY: build demo test unit readers engines interop lint bench clean
build:
	$(CARGO) build --bins

# Starts the simulator, exports the whole org into a fresh $(DEMO_LAKE), prints the
# summary, stops the simulator (also on failure). Each start of the simulator is a new org
# history (its clock is now), so the demo lake is replaced rather than added to.
demo: build
	@rm -rf $(DEMO_LAKE)
	tmp=$$(mktemp -d)
	$(BIN) sim serve --port 0 $(DEMO_ORG) > "$$tmp/url" 2> "$$tmp/sim.log" &
	sim=$$!
	trap 'kill $$sim 2>/dev/null || true; wait $$sim 2>/dev/null || true; rm -rf "$$tmp"' EXIT
	for _ in $$(seq 1 300); do [ -s "$$tmp/url" ] && break; sleep 0.1; done
	url=$$(head -n1 "$$tmp/url")
	[ -n "$$url" ] || { echo "simulator did not start:"; cat "$$tmp/sim.log"; exit 1; }
	echo "simulator at $$url"
	JUMPCLOUD_API_KEY=sim-api-key $(BIN) export --lake $(DEMO_LAKE) --base-url "$$url"

$(VENV)/.installed: tests/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

$(VENV)/.s3: $(VENV)/.installed tests/requirements-s3.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-s3.txt
	touch $@

$(VENV)/.spark: $(VENV)/.installed tests/requirements-spark.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/requirements-spark.txt
	touch $@

# SeaweedFS on 127.0.0.1 for the S3 half of the lake conformance suite (tests/lake.rs).
S3_PORT := 38333
S3_BUCKET := jclake-test
S3_KEY := jclake-test
S3_SECRET := jclake-test-secret

# Every Rust test, the S3 ones included: SeaweedFS is started for them and stopped after
# (by its PID; SIGKILL if it has not exited 10 s after SIGTERM).
unit: $(VENV)/.s3
	@tmp=$$(mktemp -d)
	printf '{"identities":[{"name":"jclake","credentials":[{"accessKey":"$(S3_KEY)","secretKey":"$(S3_SECRET)"}],"actions":["Admin","Read","Write","List","Tagging"]}]}' > "$$tmp/s3.json"
	$(VENV)/bin/weed server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$$tmp" -s3 -s3.port=$(S3_PORT) \
		-s3.config="$$tmp/s3.json" -master.port=39333 -volume.port=38080 -filer.port=38888 \
		-volume.max=20 > "$$tmp/weed.log" 2>&1 &
	weed=$$!
	trap 'kill $$weed 2>/dev/null || true; for _ in $$(seq 1 20); do kill -0 $$weed 2>/dev/null || break; sleep 0.5; done; kill -9 $$weed 2>/dev/null || true; rm -rf "$$tmp"' EXIT
	ok=
	for _ in $$(seq 1 120); do
		code=$$(curl -s -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
			--user "$(S3_KEY):$(S3_SECRET)" "http://127.0.0.1:$(S3_PORT)/$(S3_BUCKET)" || true)
		if [ "$$code" = 200 ] || [ "$$code" = 409 ]; then ok=1; break; fi
		sleep 0.5
	done
	[ -n "$$ok" ] || { echo "SeaweedFS did not start:"; tail -20 "$$tmp/weed.log"; exit 1; }
	echo "SeaweedFS S3 at http://127.0.0.1:$(S3_PORT), bucket $(S3_BUCKET)"
	JCLAKE_TEST_S3_BUCKET=$(S3_BUCKET) AWS_ENDPOINT=http://127.0.0.1:$(S3_PORT) AWS_ALLOW_HTTP=true \
		AWS_ACCESS_KEY_ID=$(S3_KEY) AWS_SECRET_ACCESS_KEY=$(S3_SECRET) AWS_REGION=us-east-1 \
		$(CARGO) test --workspace --all-targets -- --include-ignored

# The demo lake read back by DuckDB and pyarrow, counts checked against the run manifest.
readers: $(VENV)/.installed demo
	@$(VENV)/bin/python tests/readers.py $(DEMO_LAKE) --users 5000 --user-groups 300 --systems 1500 --events 40000
	$(VENV)/bin/python tests/demo_queries.py $(DEMO_LAKE)

# Three days of growing schemas in one lake, read alike by DuckDB, DataFusion and pyarrow.
engines: $(VENV)/.installed build
	@$(VENV)/bin/python tests/interop.py $(BIN)

# The same with Spark (mergeSchema) too; CI runs it after `make test`.
interop: $(VENV)/.spark build
	@SPARK_LOCAL_IP=127.0.0.1 $(VENV)/bin/python tests/interop.py $(BIN) --spark

test: unit readers engines
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# jclake beside DuckDB (and dlt, when installed in .venv) on the same data: one table of
# whole-process figures (benches/run.py; BENCH_QUICK=1 for small sizes, BENCH_ASSERT=1 to
# fail on a missed target), then the simulator's own bench.
bench: $(VENV)/.installed
	$(CARGO) build --release --bins --example decode_file
	$(VENV)/bin/python benches/run.py
	$(CARGO) bench -p jclake-sim --bench sim_serve

clean:
	rm -rf $(DEMO_LAKE) $(VENV)
