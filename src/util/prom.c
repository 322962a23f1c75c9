/* The Prometheus text format writer and the fixed-bucket histograms (see
 * prom.h). The format: https://prometheus.io/docs/instrumenting/exposition_formats/
 * (version 0.0.4); `promtool check metrics` is its checker in the tests. */
#include "util/prom.h"

#include <math.h>
#include <stdio.h>

const uint64_t prom_hist_bounds_us[PROM_HIST_BOUNDS] = {
    1000,   2500,   5000,    10000,   25000,   50000,    100000,
    250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

/* The same bounds as the le label spells them. */
static const char *const bound_text[PROM_HIST_N] = {
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25",  "0.5",    "1",     "2.5",  "5",     "10",   "+Inf",
};

void prom_hist_observe_us(prom_hist *h, uint64_t us)
{
    int i = 0;
    while (i < PROM_HIST_BOUNDS && us > prom_hist_bounds_us[i])
        i++;
    atomic_fetch_add_explicit(&h->n[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

void prom_hist_read(const prom_hist *h, prom_hist_counts *out)
{
    for (int i = 0; i < PROM_HIST_N; i++)
        out->n[i] = atomic_load_explicit(&h->n[i], memory_order_relaxed);
    out->sum_us = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
}

uint64_t prom_hist_count(const prom_hist_counts *c)
{
    uint64_t total = 0;
    for (int i = 0; i < PROM_HIST_N; i++)
        total += c->n[i];
    return total;
}

/* s with backslash and newline escaped, and double quote when quote. */
static void escaped(orc_buf *b, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            orc_buf_puts(b, "\\\\", NULL);
        else if (*s == '\n')
            orc_buf_puts(b, "\\n", NULL);
        else if (*s == '"' && quote)
            orc_buf_puts(b, "\\\"", NULL);
        else
            orc_buf_append(b, s, 1, NULL);
    }
}

void prom_family(orc_buf *b, const char *name, const char *type, const char *help)
{
    orc_buf_printf(b, NULL, "# HELP %s ", name);
    escaped(b, help, 0);
    orc_buf_printf(b, NULL, "\n# TYPE %s %s\n", name, type);
}

static void series(orc_buf *b, const char *name, const prom_label *labels, size_t n)
{
    orc_buf_puts(b, name, NULL);
    for (size_t i = 0; i < n; i++) {
        orc_buf_printf(b, NULL, "%s%s=\"", i ? "," : "{", labels[i].name);
        escaped(b, labels[i].value, 1);
        orc_buf_puts(b, "\"", NULL);
    }
    if (n) orc_buf_puts(b, "}", NULL);
}

void prom_sample_u64(orc_buf *b, const char *name, const prom_label *labels, size_t n,
                     uint64_t value)
{
    series(b, name, labels, n);
    orc_buf_printf(b, NULL, " %llu\n", (unsigned long long)value);
}

void prom_sample_f64(orc_buf *b, const char *name, const prom_label *labels, size_t n, double value)
{
    series(b, name, labels, n);
    if (isnan(value))
        orc_buf_puts(b, " NaN\n", NULL);
    else if (isinf(value))
        orc_buf_puts(b, value > 0 ? " +Inf\n" : " -Inf\n", NULL);
    else
        orc_buf_printf(b, NULL, " %.15g\n", value);
}

void prom_histogram(orc_buf *b, const char *name, const prom_label *labels, size_t n,
                    const prom_hist_counts *c)
{
    prom_label l[8];
    char sname[128];
    if (n > 7) n = 7; /* a programming error; the output stays well-formed */
    for (size_t i = 0; i < n; i++)
        l[i] = labels[i];
    snprintf(sname, sizeof(sname), "%s_bucket", name);
    uint64_t cum = 0;
    for (int i = 0; i < PROM_HIST_N; i++) {
        cum += c->n[i];
        l[n] = (prom_label){"le", bound_text[i]};
        prom_sample_u64(b, sname, l, n + 1, cum);
    }
    snprintf(sname, sizeof(sname), "%s_sum", name);
    series(b, sname, labels, n);
    orc_buf_printf(b, NULL, " %llu.%06llu\n", (unsigned long long)(c->sum_us / 1000000),
                   (unsigned long long)(c->sum_us % 1000000));
    snprintf(sname, sizeof(sname), "%s_count", name);
    prom_sample_u64(b, sname, labels, n, cum);
}
