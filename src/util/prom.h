/* The Prometheus text exposition format (version 0.0.4), written into an
 * orc_buf, and the one histogram shape every layer records latencies in:
 * fixed buckets of atomic counters, so recording costs two atomic adds and no
 * lock. Writers append to a buffer with no ceiling (max 0); nothing here
 * fails. Label values and help text are escaped as the format requires
 * (backslash, double quote in label values, newline). */
#ifndef ORC_UTIL_PROM_H
#define ORC_UTIL_PROM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* The content type of a /metrics answer. */
#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---- histograms ---- */

/* Upper bounds of the latency buckets, in seconds: 1 ms to 10 s, then +Inf. */
#define PROM_HIST_BOUNDS 13
#define PROM_HIST_N (PROM_HIST_BOUNDS + 1) /* the last one is +Inf */
extern const uint64_t prom_hist_bounds_us[PROM_HIST_BOUNDS];

/* A latency histogram: per-bucket counts (not cumulative) and the sum of
 * every observation in microseconds. Zeroed memory is an empty histogram. */
typedef struct prom_hist {
    _Atomic uint64_t n[PROM_HIST_N];
    _Atomic uint64_t sum_us;
} prom_hist;

/* A plain copy of one, to read and write out. */
typedef struct prom_hist_counts {
    uint64_t n[PROM_HIST_N];
    uint64_t sum_us;
} prom_hist_counts;

/* Counts one observation of us microseconds (bucket le is inclusive).
 * Lock-free; safe from any thread. */
void prom_hist_observe_us(prom_hist *h, uint64_t us);
/* Copies h. Each counter is read once; a concurrent observation may show in
 * some and not others, as Prometheus allows. */
void prom_hist_read(const prom_hist *h, prom_hist_counts *out);
/* The number of observations in c. */
uint64_t prom_hist_count(const prom_hist_counts *c);

/* ---- writing ---- */

/* One label: name (from the program: [a-zA-Z_][a-zA-Z0-9_]*) and value
 * (any text, escaped when written). */
typedef struct prom_label {
    const char *name;
    const char *value;
} prom_label;

/* The "# HELP" and "# TYPE" lines that start a metric family; type is
 * "counter", "gauge" or "histogram". Every sample of the family follows. */
void prom_family(orc_buf *b, const char *name, const char *type, const char *help);
/* One sample line: name{labels} value. n may be 0 (no braces then). */
void prom_sample_u64(orc_buf *b, const char *name, const prom_label *labels, size_t n,
                     uint64_t value);
/* The same with a floating-point value (NaN and infinities as Prometheus
 * spells them). */
void prom_sample_f64(orc_buf *b, const char *name, const prom_label *labels, size_t n,
                     double value);
/* A histogram's series under family name: name_bucket{labels,le="..."}
 * cumulative, name_sum in seconds and name_count. n labels, at most 7. */
void prom_histogram(orc_buf *b, const char *name, const prom_label *labels, size_t n,
                    const prom_hist_counts *c);

#endif
