# Infohub: top-level build.
#
#   make deps    install every Debian package that building, testing and running need
#   make         build bin/ with -Wall -Wextra -Werror
#   make test    deps + build + every test (unit, unit under ASan+UBSan, fuzz smoke,
#                interop, integration); ends with "N passed, N failed"
#   make fuzz    run the decoder and the input fuzzers for FUZZ_SECONDS each (default 60)
#   make run     the demo (see README)

CC      ?= cc
CLANG   ?= clang
PY      := /usr/bin/python3
PKGS    := libczmq libzmq lmdb libsodium msgpack jansson libcmark libmicrohttpd liboath libqrencode libpcre2-8 libpsl
WARN    := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wno-unused-parameter -Wno-format-truncation
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE -Iproto -Ibroker -Iagents -Igateway
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

PROTO_SRC   := $(sort $(wildcard proto/ih_*.c))
BROKER_SRC  := $(sort $(wildcard broker/ih_*.c))
AGENT_SRC   := $(sort $(wildcard agents/ih_*.c))
GATEWAY_SRC := $(sort $(wildcard gateway/ih_*.c))
ALL_MOD_SRC := $(PROTO_SRC) $(BROKER_SRC) $(AGENT_SRC) $(GATEWAY_SRC)
HDRS        := $(wildcard proto/*.h broker/*.h agents/*.h gateway/*.h)

OBJ      = $(patsubst %.c,build/obj/%.o,$(1))
ASAN_OBJ = $(patsubst %.c,build/asan/%.o,$(1))

# A daemon is built once its main file exists.
MAINS := broker/main_broker.c broker/main_admin.c agents/main_agent.c gateway/main_gateway.c
BINS  := $(foreach m,$(wildcard $(MAINS)),bin/infohub-$(subst main_,,$(basename $(notdir $(m))))) bin/ih-selftest

.PHONY: all deps test fuzz run clean asan bench-gateway bench-export bench-search bench-broker
all: $(BINS)

build/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

build/asan/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(filter-out -O2 -O3,$(CFLAGS)) $(SAN) $(PKG_CFLAGS) -c $< -o $@

build/libihproto.a: $(call OBJ,$(PROTO_SRC))
	@mkdir -p build
	rm -f $@ && ar rcs $@ $^

# The gateway keeps its copy of the public feed in the agent's store format.
build/libihagent.a: $(call OBJ,$(AGENT_SRC))
	@mkdir -p build
	rm -f $@ && ar rcs $@ $^

bin/infohub-broker: $(call OBJ,broker/main_broker.c $(BROKER_SRC)) build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

bin/infohub-admin: $(call OBJ,broker/main_admin.c $(BROKER_SRC)) build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

bin/infohub-agent: $(call OBJ,agents/main_agent.c $(AGENT_SRC)) build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

bin/infohub-gateway: $(call OBJ,gateway/main_gateway.c $(GATEWAY_SRC)) build/libihagent.a build/libihproto.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

# The self-test runner: every module ih_NAME.c that defines ih_NAME_test(bool verbose)
# is listed in build/selftests.inc, generated from the sources.
build/selftests.inc: $(ALL_MOD_SRC) tests/gen-selftests.sh
	@mkdir -p build
	sh tests/gen-selftests.sh $(ALL_MOD_SRC) > $@.tmp && mv $@.tmp $@

build/obj/tests/selftest.o build/asan/tests/selftest.o: build/selftests.inc
build/obj/tests/selftest.o build/asan/tests/selftest.o: CFLAGS += -Ibuild

bin/ih-selftest: $(call OBJ,tests/selftest.c $(ALL_MOD_SRC))
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

bin/ih-selftest-asan: $(call ASAN_OBJ,tests/selftest.c $(ALL_MOD_SRC))
	@mkdir -p bin
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(PKG_LIBS)

asan: bin/ih-selftest-asan

# libFuzzer target for the wire decoder (clang).
FUZZ_SECONDS ?= 60
bin/fuzz-decode: tests/fuzz/fuzz_decode.c $(PROTO_SRC) $(HDRS)
	@mkdir -p bin
	$(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE -Iproto $(PKG_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -o $@ tests/fuzz/fuzz_decode.c $(PROTO_SRC) $(PKG_LIBS)

# libFuzzer target for the file and command-line parsers (JSON alerts, IOCs, times, the
# stix21/misp/csv/text imports and the text extractor): proto/ plus the agents/ modules
# (the parsers are agents/ih_import.c and ih_extract.c; the import self-test pulls in the
# exporter, which pulls in store, rules and warninglist, so all of them are linked).
FUZZ_INPUT_SRC := $(AGENT_SRC)
bin/fuzz-input: tests/fuzz/fuzz_input.c $(PROTO_SRC) $(FUZZ_INPUT_SRC) $(HDRS)
	@mkdir -p bin
	$(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE -Iproto -Iagents $(PKG_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    -o $@ tests/fuzz/fuzz_input.c $(PROTO_SRC) $(FUZZ_INPUT_SRC) $(PKG_LIBS)

# The C side of tests/interop: encodes samples, decodes, signs and verifies (C vs Python).
bin/ih-wire: tests/interop/ih-wire.c build/libihproto.a $(HDRS)
	@mkdir -p bin
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ tests/interop/ih-wire.c build/libihproto.a $(PKG_LIBS)

fuzz: bin/fuzz-decode bin/fuzz-input
	@mkdir -p build/fuzz-corpus
	bin/fuzz-decode -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 -max_len=65536 \
	    build/fuzz-corpus tests/fuzz/corpus
	@mkdir -p build/fuzz-corpus-input
	bin/fuzz-input -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 -max_len=65536 \
	    build/fuzz-corpus-input tests/fuzz/corpus-input

# Benchmark (not a test): export 1,000,000 IOCs to csv and stix21 (bench/bench_export.sh).
bin/ih-bench-load: bench/ih_bench_load.c build/libihagent.a build/libihproto.a $(HDRS)
	@mkdir -p bin
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ bench/ih_bench_load.c build/libihagent.a build/libihproto.a $(PKG_LIBS)

bench-export: bin/infohub-agent bin/ih-bench-load
	@sh bench/bench_export.sh

# Benchmark (not a test): `search` latency over a store of 1,000,000 IOCs
# (bench/bench_search.sh; the store is built through the store API, not the broker).
bin/bench-search: bench/bench_search.c build/libihagent.a build/libihproto.a $(HDRS)
	@mkdir -p bin
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ bench/bench_search.c build/libihagent.a build/libihproto.a $(PKG_LIBS)

bench-search: bin/infohub-agent bin/bench-search
	@sh bench/bench_search.sh

# Benchmark (not a test): the broker vs raw libzmq CURVE XPUB fan-out and raw LMDB ingest,
# side by side in one run (bench/bench_broker.sh; RUNS=3 for ranges, PERF=1 to profile).
bin/bench-broker: bench/bench_broker.c build/libihproto.a $(HDRS)
	@mkdir -p bin
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -o $@ bench/bench_broker.c build/libihproto.a $(PKG_LIBS)

bench-broker: bin/infohub-broker bin/infohub-admin bin/bench-broker
	@sh bench/bench_broker.sh

deps:
	@sh tests/deps.sh

test: deps
	$(MAKE) all bin/ih-selftest-asan bin/fuzz-decode bin/fuzz-input bin/ih-wire
	@sh tests/run.sh

run: deps all
	@bash tests/demo.sh

# Gateway vs nginx serving the same bytes, with wrk (a benchmark, not a test).
bench-gateway: deps all
	@sh bench/bench_gateway.sh

clean:
	rm -rf build bin
