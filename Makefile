# The hub's two set-up commands are `make demo` and `make test`; each installs what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := demo

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Tools built outside the repo and shared between clones.
TOOLS_CACHE ?= $(HOME)/.cache/approval-hub
# MinIO's Go module at a pinned commit (the project archived its release tags' images in 2026).
MINIO_MODULE_VERSION := v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_BIN := $(TOOLS_CACHE)/minio-$(MINIO_MODULE_VERSION)/minio
JARS_DIR := .hub/jars
JARS_STAMP := $(JARS_DIR)/.fetched
UDF_JAR := $(JARS_DIR)/hub-udf.jar
UDF_SOURCES := $(shell find infra/udf/src -name '*.java')
# The dashboard's charting library, from npm at the version package-lock.json pins, copied where the
# API serves it (and the monthly report inlines it): nothing is loaded from a CDN at run time.
DASHBOARD_DIR := api/dashboard
ECHARTS_JS := $(DASHBOARD_DIR)/static/echarts.min.js
# The browser the dashboard's test drives: Debian's, not one Playwright would download; and a font
# with Chinese glyphs, so its screenshots show the page's Chinese rather than empty boxes.
CHROMIUM := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc

.PHONY: demo test bench lint setup jars minio chromium clean

# The lakehouse benchmark's volumes, in cases: `make bench BENCH_CASES="100000 1000000 10000000"`
# adds 10M (many hours on 2 cores; give it BENCH_DRIVER_MEMORY to suit). 1M needed 8 GB (4 ran out).
BENCH_CASES ?= 100000 1000000
BENCH_DRIVER_MEMORY ?= 8g

demo: setup
	$(BIN)/hub demo

test: setup $(MINIO_BIN) $(CHROMIUM) $(CJK_FONT) lint
	HUB_MINIO_BINARY=$(MINIO_BIN) $(BIN)/pytest

bench: setup
	$(BIN)/python -m bench.validation --rows 1000000
	$(BIN)/python -m bench.simulator --cases-per-day 10000 --small-days 30 --large-days 90
	HUB_SPARK_DRIVER_MEMORY=$(BENCH_DRIVER_MEMORY) $(BIN)/python -m bench.silver_merge --rows 5400000
	# A tenth of the volume a working day: 70 batches at every volume, so the volumes differ in data
	# only (bronze costs the same per batch whatever its size).
	for cases in $(BENCH_CASES); do \
	  HUB_SPARK_DRIVER_MEMORY=$(BENCH_DRIVER_MEMORY) $(BIN)/python -m bench.lakehouse --cases $$cases --cases-per-day $$((cases / 10)) \
	    || exit 1; \
	done
	# The serving benchmark's load tool, Debian's wrk (installed as root, as the rest of the system).
	command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python -m bench.serving --subjects 100000
	$(BIN)/python -m bench.serving --subjects 1000000

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

setup: $(BIN)/.installed $(JARS_STAMP) $(UDF_JAR) $(ECHARTS_JS)

jars: $(JARS_STAMP) $(UDF_JAR)
minio: $(MINIO_BIN)
chromium: $(CHROMIUM) $(CJK_FONT)

$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

# Delta Lake and the S3A connector, resolved by Maven into a local folder Spark reads with spark.jars.
$(JARS_STAMP): infra/jars/pom.xml
	rm -rf $(JARS_DIR)
	mvn -q -B -f infra/jars/pom.xml dependency:copy-dependencies -DoutputDirectory=$(CURDIR)/$(JARS_DIR)
	touch $@

# The row rules' Java UDFs. Built after the fetched jars because fetching empties the folder; the
# jar itself is the stamp, so only a change to the pom or a source rebuilds it.
$(UDF_JAR): infra/udf/pom.xml $(UDF_SOURCES) $(JARS_STAMP)
	mvn -q -B -f infra/udf/pom.xml package
	cp infra/udf/target/hub-udf.jar $@

$(ECHARTS_JS): $(DASHBOARD_DIR)/package.json $(DASHBOARD_DIR)/package-lock.json
	# From inside the folder, not with --prefix: --prefix also moves npm's global config (where a
	# machine sets its CA bundle, /usr/etc/npmrc on Debian's Node.js) under the folder.
	cd $(DASHBOARD_DIR) && npm ci --no-audit --no-fund --loglevel=error
	cp $(DASHBOARD_DIR)/node_modules/echarts/dist/echarts.min.js $@

# Only `make test` needs a browser, so `make demo` stays light. Installed once, when missing.
$(CHROMIUM) $(CJK_FONT) &:
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-wqy-microhei

$(MINIO_BIN):
	mkdir -p $(dir $@)
	CGO_ENABLED=0 GOBIN=$(abspath $(dir $@)) go install github.com/minio/minio@$(MINIO_MODULE_VERSION)

clean:
	rm -rf .hub infra/udf/target $(DASHBOARD_DIR)/node_modules $(ECHARTS_JS)
