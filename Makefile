# Infohub: top-level build.
#
#   make deps    install every Debian package that building, testing and running need
#   make         build bin/ with -Wall -Wextra -Werror
#   make test    deps + build + every test (unit, unit under ASan+UBSan, fuzz smoke,
#                interop, integration); ends with "N passed, N failed"
#   make fuzz    run each fuzz target (decode, input, config, http) for FUZZ_SECONDS each
#                (default 60)
#   make reliability  every fault scenario with real processes, 5,000 alerts each; prints
#                the table of README's Reliability section (build/reliability.md)
#   make run     the demo (see README)
#   make install the programs, warninglists, systemd units and man pages under PREFIX
#                (/usr/local), staged under DESTDIR when set
#
# Layout (docs/ARCHITECTURE.md): each source directory is a static library of modules
# (ih_*.c), and each program is its main_*.c (plus, for the agent, its cmd_*.c files)
# linked with the libraries below it. Three object trees:
#   build/obj    the programs: no self-tests
#   build/test   the same modules compiled with -DIH_SELFTEST, linked into bin/ih-selftest
#                with the test kit (tests/kit)
#   build/asan   as build/test, under AddressSanitizer and UndefinedBehaviorSanitizer
# Dependencies on headers are generated per object (-MMD).

CC      ?= cc
CLANG   ?= clang
PY      := /usr/bin/python3
WARN    := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wno-unused-parameter
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE
INCS    := -Iproto -Ibroker -Iagents -Iweb -Igateway -Iconsole
LDFLAGS += -Wl,--as-needed
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# What each part links (pkg-config names). A program links only its parts' libraries.
PKG_PROTO   := libczmq libzmq libsodium msgpack jansson
PKG_BROKER  := $(PKG_PROTO) lmdb
PKG_ADMIN   := $(PKG_PROTO)
# liboath and libqrencode: the Members Zone's TOTP and enrolment QR codes (ih_totp).
PKG_AGENT   := $(PKG_PROTO) lmdb libpsl nettle liboath libqrencode
# libcmark-gfm: GitHub-flavoured Markdown (tables, strikethrough, autolinks); Debian ships
# no .pc for libcmark-gfm-extensions, and libcmark-gfm.pc links it (-lcmark-gfm-extensions).
# libxxhash: the ETags of the web layer's answers (XXH3-128; web/ih_http.c, s_etag).
PKG_WEB     := libmicrohttpd libcmark-gfm libxxhash
PKG_GATEWAY := $(PKG_AGENT) $(PKG_WEB)
PKG_CONSOLE := $(PKG_AGENT) $(PKG_WEB)
PKG_ALL     := $(sort $(PKG_BROKER) $(PKG_AGENT) $(PKG_WEB))
# The text analytics' libraries ship no pkg-config files: linked by name. libstemmer
# (ih_text: English stemming) for the programs that read alert text (the agent, the
# gateway's related alerts); liblinear (ih_model: training) for the agent only.
LIBS_TEXT   := -lstemmer
LIBS_MODEL  := -llinear $(LIBS_TEXT)
pkg_cflags   = $(shell pkg-config --cflags $(1) 2>/dev/null)
pkg_libs     = $(shell pkg-config --libs $(1) 2>/dev/null) -lpthread -lm
ALL_CFLAGS   = $(CFLAGS) $(INCS) $(call pkg_cflags,$(PKG_ALL))

PROTO_SRC   := $(sort $(wildcard proto/ih_*.c))
BROKER_SRC  := $(sort $(wildcard broker/ih_*.c))
AGENT_SRC   := $(sort $(wildcard agents/ih_*.c))
WEB_SRC     := $(sort $(wildcard web/ih_*.c))
GATEWAY_SRC := $(sort $(wildcard gateway/ih_*.c))
CONSOLE_SRC := $(sort $(wildcard console/ih_con*.c))
ALL_MOD_SRC := $(PROTO_SRC) $(BROKER_SRC) $(AGENT_SRC) $(WEB_SRC) $(GATEWAY_SRC) $(CONSOLE_SRC)
KIT_SRC     := $(sort $(wildcard tests/kit/*.c))
AGENT_CMD_SRC := agents/main_agent.c $(sort $(wildcard agents/cmd_*.c))

OBJ      = $(patsubst %.c,build/obj/%.o,$(1))
TEST_OBJ = $(patsubst %.c,build/test/%.o,$(1))
ASAN_OBJ = $(patsubst %.c,build/asan/%.o,$(1))

BINS := bin/infohub-broker bin/infohub-admin bin/infohub-agent bin/infohub-gateway bin/infohub-console \
        bin/ih-selftest

.PHONY: all deps test fuzz run clean asan install bench-gateway bench-export bench-search bench-broker \
        bench-pages bench-analytics reliability bench bench-quick bench-console
all: $(BINS)

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

build/test/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DIH_SELFTEST -Itests/kit -MMD -MP -c $< -o $@

build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(filter-out -O2 -O3,$(ALL_CFLAGS)) -DIH_SELFTEST -Itests/kit $(SAN) -MMD -MP -c $< -o $@

-include $(shell find build -name '*.d' 2>/dev/null)

build/libihproto.a: $(call OBJ,$(PROTO_SRC))
build/libihbroker.a: $(call OBJ,$(BROKER_SRC))
build/libihagent.a: $(call OBJ,$(AGENT_SRC))
build/libihweb.a: $(call OBJ,$(WEB_SRC))
build/libih%.a:
	@mkdir -p build
	rm -f $@ && ar rcs $@ $^

bin/infohub-broker: $(call OBJ,broker/main_broker.c) build/libihbroker.a build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_BROKER))

bin/infohub-admin: $(call OBJ,broker/main_admin.c) build/libihbroker.a build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_ADMIN))

bin/infohub-agent: $(call OBJ,$(AGENT_CMD_SRC)) build/libihagent.a build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_AGENT)) $(LIBS_MODEL)

# The gateway is an agent with the public identity: it keeps its copy of the feed in
# the agent's store format, and serves it through the web layer.
bin/infohub-gateway: $(call OBJ,gateway/main_gateway.c $(GATEWAY_SRC)) build/libihweb.a build/libihagent.a build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_GATEWAY)) $(LIBS_TEXT)

# The Members Zone console: the web layer over the agent's store, read-only; it signs
# nothing (the agent daemon does, over its control socket: agents/ih_control.h). It reads
# the agent's suggestion model (ih_model: the file's classifiers are liblinear's) and
# related-alerts index (ih_text: libstemmer), so it links the analytics' libraries.
bin/infohub-console: $(call OBJ,console/main_console.c $(CONSOLE_SRC)) build/libihweb.a build/libihagent.a build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_CONSOLE)) $(LIBS_MODEL)

# The self-test runner: every module ih_NAME.c that defines ih_NAME_test(bool verbose)
# is listed in build/selftests.inc, generated from the sources.
build/selftests.inc: $(ALL_MOD_SRC) $(KIT_SRC) tests/gen-selftests.sh
	@mkdir -p build
	sh tests/gen-selftests.sh $(ALL_MOD_SRC) $(KIT_SRC) > $@.tmp && mv $@.tmp $@

build/test/tests/selftest.o build/asan/tests/selftest.o: build/selftests.inc
build/test/tests/selftest.o build/asan/tests/selftest.o: ALL_CFLAGS += -Ibuild

bin/ih-selftest: $(call TEST_OBJ,tests/selftest.c $(KIT_SRC) $(ALL_MOD_SRC))
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_ALL)) $(LIBS_MODEL)

bin/ih-selftest-asan: $(call ASAN_OBJ,tests/selftest.c $(KIT_SRC) $(ALL_MOD_SRC))
	@mkdir -p bin
	$(CC) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_ALL)) $(LIBS_MODEL)

asan: bin/ih-selftest-asan

# libFuzzer targets (clang): the wire decoder, the file and command-line parsers (JSON
# alerts, IOCs, times, the stix21/misp/csv/text imports and the text extractor), the
# configuration files, and HTTP requests to the gateway and the console.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -g -O1 -std=gnu11 -D_GNU_SOURCE $(INCS) $(call pkg_cflags,$(PKG_ALL)) \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
bin/fuzz-decode: tests/fuzz/fuzz_decode.c $(PROTO_SRC)
	@mkdir -p bin
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_PROTO))

bin/fuzz-input: tests/fuzz/fuzz_input.c $(PROTO_SRC) $(AGENT_SRC)
	@mkdir -p bin
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_AGENT)) $(LIBS_MODEL)

bin/fuzz-config: tests/fuzz/fuzz_config.c $(PROTO_SRC) agents/ih_agent_cfg.c
	@mkdir -p bin
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_PROTO))

# HTTP request parsing and routing: the web layer's parser, and the gateway and the
# console served in the fuzzer's process (tests/fuzz/fuzz_http.c).
bin/fuzz-http: tests/fuzz/fuzz_http.c $(PROTO_SRC) $(AGENT_SRC) $(WEB_SRC) $(GATEWAY_SRC) $(CONSOLE_SRC)
	@mkdir -p bin
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_ALL)) $(LIBS_MODEL)

# The C side of tests/interop: encodes samples, decodes, signs and verifies (C vs Python).
bin/ih-wire: $(call OBJ,tests/interop/ih-wire.c) build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_PROTO))

# Each target with its checked-in seed corpus (tests/fuzz/corpus-NAME; the decoder's is
# tests/fuzz/corpus). The input parsers take whole STIX and MISP documents, so their
# fuzzer runs without length control (-len_control=0) and with larger inputs.
FUZZ_TARGETS := decode input config http
fuzz: $(addprefix bin/fuzz-,$(FUZZ_TARGETS))
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_TARGETS)

# Benchmark (not a test): export 1,000,000 IOCs to csv and stix21 (bench/bench_export.sh).
bin/ih-bench-load: $(call OBJ,bench/ih_bench_load.c) build/libihagent.a build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_AGENT)) $(LIBS_MODEL)

bench-export: bin/infohub-agent bin/ih-bench-load
	@sh bench/bench_export.sh

# Benchmark (not a test): `search` latency over a store of 1,000,000 IOCs
# (bench/bench_search.sh; the store is built through the store API, not the broker).
bin/bench-search: $(call OBJ,bench/bench_search.c) build/libihagent.a build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_AGENT)) $(LIBS_MODEL)

bench-search: bin/infohub-agent bin/bench-search
	@sh bench/bench_search.sh

# Benchmark (not a test): the gateway's deep and filtered pages, search and trends over
# stores of 1,000 to 100,000 alerts (bench/bench_pages.sh; built through the store API).
bin/bench-pages: $(call OBJ,bench/bench_pages.c $(GATEWAY_SRC)) build/libihweb.a build/libihagent.a build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_GATEWAY)) $(LIBS_MODEL)

bench-pages: bin/bench-pages
	@sh bench/bench_pages.sh

# Benchmark (not a test): training, analyse and related at 10,000 and 100,000 alerts
# (bench/bench_analytics.sh; the stores are filled through the store API).
bin/bench-analytics: $(call OBJ,bench/bench_analytics.c) build/libihagent.a build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_AGENT)) $(LIBS_MODEL)

bench-analytics: bin/infohub-agent bin/bench-analytics
	@sh bench/bench_analytics.sh

# Benchmark (not a test): the Members Zone console's page times over a store of 100,000
# alerts and its logins per second (bench/bench_console.sh; the store is filled through
# the store API, the real bin/infohub-console serves it).
bin/bench-console: $(call OBJ,bench/bench_console.c) build/libihagent.a build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_AGENT)) $(LIBS_MODEL)

bench-console: bin/infohub-console bin/bench-console
	@sh bench/bench_console.sh

# The bench kit (bench/ih_bench.h, bench/ih_bench_peer.h): processes, CPU accounting, CURVE
# clients, subscriber and publisher threads, a real deployment, real agents, the machine's
# limits, and minimal NATS and MQTT clients over OpenSSL. An archive, so that each benchmark
# links only what it uses (bench-broker needs no OpenSSL); never part of a product library.
# bench/ih_bench_load.c is a program of its own, not part of the kit.
BENCH_KIT_SRC := $(filter-out bench/ih_bench_load.c,$(sort $(wildcard bench/ih_bench*.c)))
build/libihbench.a: $(call OBJ,$(BENCH_KIT_SRC))

# Benchmark (not a test): the broker vs raw libzmq CURVE XPUB fan-out and raw LMDB ingest,
# side by side in one run (bench/bench_broker.sh; RUNS=3 for ranges, PERF=1 to profile).
bin/bench-broker: $(call OBJ,bench/bench_broker.c) build/libihbench.a build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_BROKER))

bench-broker: bin/infohub-broker bin/infohub-admin bin/bench-broker
	@sh bench/bench_broker.sh

# `make bench` (issue 14): the whole pipeline side by side with its peers and the machine's
# limits, in one run of under 20 minutes on 2 cores; prints one Markdown table and writes it
# to bench/RESULTS.md, the raw numbers to build/bench/results.json (bench/bench.sh says how,
# and which environment variables size each phase). `make bench-quick`: small sizes, 1-3
# minutes, for development. BENCH_PERF=PHASE records a DWARF profile of the component that
# runs that phase (bench/bench.sh).
BENCH_ALL_SRC := $(sort $(wildcard bench/bench_all*.c))
bin/bench-all: $(call OBJ,$(BENCH_ALL_SRC)) build/libihbench.a build/libihagent.a build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(PKG_AGENT) openssl) $(LIBS_MODEL)

BENCH_BINS := bin/infohub-broker bin/infohub-admin bin/infohub-agent bin/infohub-gateway bin/bench-all
bench: $(BENCH_BINS)
	@sh tests/deps.sh
	@sh bench/bench.sh full

bench-quick: $(BENCH_BINS)
	@sh tests/deps.sh
	@sh bench/bench.sh quick

# Installation. The programs find the warninglists at BINDIR/../share/infohub/warninglists
# (agents/ih_warninglist.c), so the two must move together: install both, never bin/ alone.
# The systemd units get ExecStart (and every other /usr/local/bin path) in BINDIR.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
DATADIR  = $(PREFIX)/share/infohub
MANDIR   = $(PREFIX)/share/man
UNITDIR  = $(PREFIX)/lib/systemd/system
INSTALL ?= install
PROGRAMS := bin/infohub-broker bin/infohub-admin bin/infohub-agent bin/infohub-gateway bin/infohub-console
UNITS    := $(sort $(wildcard config/systemd/*.service))
MAN1     := $(sort $(wildcard man/*.1))
MAN8     := $(sort $(wildcard man/*.8))

install: $(PROGRAMS)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/warninglists $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0755 $(PROGRAMS) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 config/warninglists/* $(DESTDIR)$(DATADIR)/warninglists/
	for u in $(UNITS); do \
	    sed 's|/usr/local/bin/|$(BINDIR)/|g' $$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u).tmp && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u).tmp && \
	    mv $(DESTDIR)$(UNITDIR)/$$(basename $$u).tmp $(DESTDIR)$(UNITDIR)/$$(basename $$u) || exit 1; \
	done
	$(INSTALL) -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/

deps:
	@sh tests/deps.sh

NPROC := $(shell nproc 2>/dev/null || echo 2)
test: deps
	$(MAKE) -j$(NPROC) all bin/ih-selftest-asan $(addprefix bin/fuzz-,$(FUZZ_TARGETS)) bin/ih-wire bin/ih-bench-load
	@sh tests/run.sh

run: deps all
	@bash tests/demo.sh

# The reliability suite (tests/reliability/run.py): each fault scenario on a fresh
# deployment of four orgs, RELIABILITY_ALERTS alerts (5,000), stops of RELIABILITY_STOP
# seconds (60); prints the table and writes it to build/reliability.md. The full-disk
# scenarios mount a tmpfs (root). `make test` runs the short mode (tests/reliability).
RELIABILITY_ALERTS ?= 5000
RELIABILITY_STOP ?= 60
reliability: all
	@RELIABILITY_ALERTS=$(RELIABILITY_ALERTS) RELIABILITY_STOP=$(RELIABILITY_STOP) \
	    $(PY) tests/reliability/run.py

# Gateway vs nginx serving the same bytes, with wrk (a benchmark, not a test).
bench-gateway: deps all
	@sh bench/bench_gateway.sh

clean:
	rm -rf build bin
