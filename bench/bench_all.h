/*  bench_all.h: what the files of bin/bench-all share (the program of `make bench`, issue
    14). Not a module of any library: the phases, the sizes they read from the environment,
    and the JSON document they fill.

      bench_all.c          main: the sizes, the machine (CPU, verify ceiling, fsync), the
                           order of the phases, the JSON written at the end
      bench_all_fanout.c   durable ingest against raw LMDB; live fan-out of the broker, raw
                           CURVE, NATS-TLS and mosquitto-TLS; NATS JetStream
      bench_all_agents.c   real agents: holding a rate, publish -> stored latency, catch-up
                           from zero, a bulk feed

    Every phase records what its subscribers got: "lost" in the JSON is what did not
    arrive (bench/bench_report.py prints "LOST n" for it).
*/
#ifndef BENCH_ALL_H
#define BENCH_ALL_H

#include <jansson.h>

#include "ih_bench.h"
#include "ih_bench_peer.h"

typedef struct {
    const char *work;               //  BENCH_WORK: an empty directory of ours
    const char *bindir;             //  BENCH_BIN (bin)
    const char *perf;               //  BENCH_PERF: the phases to profile ("ingest catchup"), or NULL
    const char *perf_prefix;        //  BENCH_PERF_PREFIX: where perf-PHASE.data goes
    long ncpu;
    double verify_secs;             //  BENCH_VERIFY_SECS
    size_t fsync_count;             //  BENCH_FSYNC_COUNT
    size_t ingest;                  //  BENCH_INGEST: alerts of durable ingest
    size_t inflight, pubs;          //  BENCH_INFLIGHT, BENCH_PUBS: publishers
    uint32_t window;                //  BENCH_WINDOW: the subscribers' hello window
    size_t fan_n [8], fan_nn;       //  BENCH_FANOUT_N: subscriber counts
    size_t fan_size [4], fan_ns;    //  BENCH_FANOUT_SIZES: body sizes
    size_t fan_deliveries;          //  BENCH_FANOUT_DELIVERIES: per run, about
    size_t fan_min, fan_max;        //  BENCH_FANOUT_MIN, _MAX: alerts per run
    bool peer_curve, peer_nats, peer_mqtt0, peer_mqtt1;    //  BENCH_PEERS
    size_t js_msgs;                 //  BENCH_JS_MSGS
    size_t agents;                  //  BENCH_AGENTS
    double hold_rate, hold_secs;    //  BENCH_HOLD_RATE, BENCH_HOLD_SECS
    double lat_secs;                //  BENCH_LAT_SECS: each latency run
    double lat_rate_many, lat_rate_few;     //  BENCH_LAT_RATE_MANY (100), _FEW (1000)
    size_t lat_few;                 //  BENCH_LAT_FEW_AGENTS (2)
    size_t catchup_min;             //  BENCH_CATCHUP_MIN: journal size for catch-up, at least
    size_t bulk_iocs, bulk_per;     //  BENCH_BULK_IOCS, BENCH_BULK_PER
    int drain_secs;                 //  BENCH_DRAIN_SECS: how long agents may take to drain
    int idle_ms;                    //  BENCH_IDLE_MS: a run that got nothing for so long ends
    bool skip_agents;               //  BENCH_SKIP_AGENTS=1: the broker's phases only
} bench_cfg_t;

/*  Everything one run measured; main writes it as JSON. */
typedef struct {
    json_t *root;
    double verify_one, verify_all;  //  verifies/s, measured first
    ih_bench_pct_t fsync;
} bench_out_t;

/*  Sets key in obj to a number (NaN and infinities as null). */
void bench_num (json_t *obj, const char *key, double v);

/*  The object obj [key], made when missing. */
json_t *bench_obj (json_t *obj, const char *key);

/*  Starts perf on pid when BENCH_PERF names phase; returns its pid or 0. */
pid_t bench_perf_start (const bench_cfg_t *cfg, const char *phase, pid_t pid);

/*  Prints "bench: ..." on stderr: progress, one line per step. */
void bench_say (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/*  Durable ingest, raw LMDB, live fan-out (broker, raw CURVE, NATS-TLS, mosquitto-TLS) and
    JetStream, on a deployment of its own with max(fan_n) readers. */
void bench_fanout_all (const bench_cfg_t *cfg, bench_out_t *out);

/*  The real agents, on a deployment of their own. */
void bench_agents_all (const bench_cfg_t *cfg, bench_out_t *out);

#endif
