/* The fault decorator, a test facility (compiled in with ORCHARD_FAULTS):
 * wraps a provider and, on every call, applies rules so a test can make a
 * provider hang, fail, answer late, go down or return flipped bytes without
 * touching the real backend. Rules come from the section's `faults` (inline,
 * separated by ';', fixed for the server's life) and from a `fault_file`
 * that a test rewrites at run time, re-read whenever its size, inode or
 * mtime changes; the file's rules are looked at first. One rule a line, the
 * first rule whose OP matches applies, '#' starts a comment:
 *     OP ACTION [ARG]     OP: put get del head list *
 *     hang            block until the rule is gone or the call's deadline passes
 *     late            do the call, then block as hang does (the answer comes too late)
 *     fail            ORC_ETRANSIENT at once, as a 503 would
 *     fail-nth N      fail the Nth call of OP (from 1) as a 503, and only it
 *     fail-fraction F fail a fraction F (0..1) of OP calls, pseudo-randomly
 *     down            ORC_ETRANSIENT at once, as an unreachable host
 *     delay MS        sleep MS milliseconds, then do the call
 *     corrupt         (get) do the call, then flip a byte of what it returned
 * Every wait looks at the call's cancel flag every few milliseconds. */
#include "provider/provider_impl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/time.h"

#define FAULT_RULES 16
#define FAULT_LINE 128
#define FAULT_POLL_MS 5
/* A hang with no deadline (provider_list) ends after this long anyway. */
#define FAULT_HANG_MAX_US (600ll * 1000000)

enum fault_op { OP_PUT, OP_GET, OP_DEL, OP_HEAD, OP_LIST, OP_ANY };
enum fault_action {
    ACT_NONE,
    ACT_HANG,
    ACT_LATE,
    ACT_FAIL,
    ACT_DELAY,
    ACT_CORRUPT,
    ACT_FAIL_NTH,
    ACT_FAIL_FRACTION,
    ACT_DOWN
};

struct rule {
    int op, action;
    long ms;       /* delay */
    uint64_t nth;  /* fail-nth */
    double frac;   /* fail-fraction */
    uint64_t seen; /* calls this rule matched (fail-nth, fail-fraction) */
};

struct rules {
    struct rule r[FAULT_RULES];
    int n;
};

typedef struct fault_provider {
    provider base; /* first: provider.c casts */
    struct provider_ops ops;
    char *path;         /* NULL: no file */
    pthread_mutex_t mu; /* guards what follows */
    struct stat seen;   /* of the file when last read; st_ino 0: absent */
    struct rules file, inline_rules;
} fault_provider;

static const char *const op_names[] = {"put", "get", "del", "head", "list", "*"};
static const char *const act_names[] = {"",        "hang",     "late",          "fail", "delay",
                                        "corrupt", "fail-nth", "fail-fraction", "down"};
#define NACTS ((int)(sizeof(act_names) / sizeof(act_names[0])))

static int word_index(const char *w, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(w, names[i])) return i;
    return -1;
}

/* The argument of an action that takes one; false if it is bad. */
static bool parse_arg(struct rule *r, const char *w)
{
    uint64_t x = 0;
    char *end = NULL;
    switch (r->action) {
    case ACT_DELAY:
        if (!w || parse_uint_max(w, 3600000, &x)) return false;
        r->ms = (long)x;
        return true;
    case ACT_FAIL_NTH:
        if (!w || parse_uint_max(w, UINT32_MAX, &x) || x < 1) return false;
        r->nth = x;
        return true;
    case ACT_FAIL_FRACTION:
        if (!w) return false;
        r->frac = strtod(w, &end);
        return end != w && !*end && r->frac >= 0 && r->frac <= 1;
    default:
        return !w;
    }
}

/* Parses one rule into r: 1 a rule, 0 blank or comment, -1 bad. */
static int parse_rule(char *line, struct rule *r)
{
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char *words[4] = {0};
    int n = 0;
    for (char *c = line; *c && n < 4;) { /* split on blanks, in place */
        c += strspn(c, " \t\r\n");
        if (!*c) break;
        words[n++] = c;
        c += strcspn(c, " \t\r\n");
        if (*c) *c++ = 0;
    }
    if (n == 0) return 0;
    memset(r, 0, sizeof(*r));
    r->op = n >= 2 ? word_index(words[0], op_names, 6) : -1;
    r->action = n >= 2 ? word_index(words[1], act_names, NACTS) : -1;
    if (r->op < 0 || r->action <= 0 || n > 3 || !parse_arg(r, words[2])) return -1;
    return 1;
}

/* Re-reads the file if it changed. Called with mu held. */
static void reload(fault_provider *f)
{
    struct stat st;
    if (stat(f->path, &st) != 0) memset(&st, 0, sizeof(st));
    if (st.st_ino == f->seen.st_ino && st.st_size == f->seen.st_size &&
        st.st_mtim.tv_sec == f->seen.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == f->seen.st_mtim.tv_nsec)
        return;
    f->seen = st;
    f->file.n = 0;
    FILE *fp = st.st_ino ? fopen(f->path, "r") : NULL;
    if (!fp) return;
    char line[FAULT_LINE];
    while (f->file.n < FAULT_RULES && fgets(line, sizeof(line), fp)) {
        int ok = parse_rule(line, &f->file.r[f->file.n]);
        if (ok > 0) f->file.n++;
        if (ok < 0)
            LOG_WARN("provider %s: fault file %s: ignoring a bad rule", f->base.name, f->path);
    }
    fclose(fp);
}

/* A fixed pseudo-random sequence (splitmix64), so a fail-fraction run is
 * the same every time. */
static double unit_random(uint64_t k)
{
    uint64_t z = k * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

/* The first rule of rs matching op, counted when count is set; NULL if none. */
static struct rule *match(struct rules *rs, int op, bool count)
{
    for (int i = 0; i < rs->n; i++) {
        struct rule *r = &rs->r[i];
        if (r->op != op && r->op != OP_ANY) continue;
        if (count) r->seen++;
        return r;
    }
    return NULL;
}

/* What applies to this call of op now: fail-nth and fail-fraction turn into
 * ACT_FAIL or ACT_NONE here (count: this is the call's first look, not a
 * hang polling its rule). */
static struct rule current(fault_provider *f, int op, bool count)
{
    struct rule out = {.op = op, .action = ACT_NONE};
    pthread_mutex_lock(&f->mu);
    struct rule *r = NULL;
    if (f->path) {
        reload(f);
        r = match(&f->file, op, count);
    }
    if (!r) r = match(&f->inline_rules, op, count);
    if (r) out = *r;
    pthread_mutex_unlock(&f->mu);
    if (out.action == ACT_FAIL_NTH) out.action = out.seen == out.nth ? ACT_FAIL : ACT_NONE;
    if (out.action == ACT_FAIL_FRACTION)
        out.action = unit_random(out.seen) < out.frac ? ACT_FAIL : ACT_NONE;
    return out;
}

/* Blocks while op's rule is still `action`, up to the call's deadline.
 * ORC_ETRANSIENT (as a timed-out request) when the deadline passed,
 * ORC_ECANCELED when the call was cancelled, 0 when the rule went away. */
static int hang(fault_provider *f, int op, int action, orc_err *e)
{
    int64_t deadline = provider_call_deadline_us();
    if (!deadline) deadline = orc_monotonic_us() + FAULT_HANG_MAX_US;
    while (current(f, op, false).action == action) {
        if (orc_monotonic_us() >= deadline)
            return orc_fail(e, ORC_ETRANSIENT, "provider %s: %s timed out (injected hang)",
                            f->base.name, op_names[op]);
        int rc = provider_sleep_ms(&f->base, FAULT_POLL_MS, e);
        if (rc) return rc;
    }
    return ORC_OK;
}

/* What happens before the real call: 1 goes on to it, others answer here. */
static int before(fault_provider *f, int op, struct rule *r, orc_err *e)
{
    *r = current(f, op, true);
    switch (r->action) {
    case ACT_FAIL:
        return orc_fail(e, ORC_ETRANSIENT, "provider %s: 503 SlowDown on %s (injected)",
                        f->base.name, op_names[op]);
    case ACT_DOWN:
        return orc_fail(e, ORC_ETRANSIENT, "provider %s: %s: connection refused (injected down)",
                        f->base.name, op_names[op]);
    case ACT_HANG: {
        int rc = hang(f, op, ACT_HANG, e);
        return rc ? rc : 1;
    }
    case ACT_DELAY: {
        int rc = provider_sleep_ms(&f->base, r->ms, e);
        return rc ? rc : 1;
    }
    default:
        return 1;
    }
}

static int fault_call(provider *p, provider_callargs *c, orc_err *e)
{
    fault_provider *f = (fault_provider *)p;
    int op = (int)c->op; /* enum provider_op and enum fault_op agree */
    size_t had = c->out ? c->out->len : 0;
    struct rule r;
    int rc = before(f, op, &r, e);
    if (rc <= 0) return rc;
    rc = provider_call(p->inner, c, e);
    if (!rc && r.action == ACT_CORRUPT && c->out && c->out->len > had)
        c->out->ptr[had + (c->out->len - had) / 2] ^= 1;
    if (r.action == ACT_LATE) { /* the answer waits out the deadline */
        int hrc = hang(f, op, ACT_LATE, e);
        if (hrc) rc = hrc;
    }
    if (rc && c->out) c->out->len = had;
    return rc;
}

static const struct provider_layer fault_layer = {"fault", fault_call};

static void fault_free(provider *p)
{
    fault_provider *f = (fault_provider *)p;
    provider_free(p->inner);
    pthread_mutex_destroy(&f->mu);
    free(f->path);
    free(f);
}

/* Parses the inline rules ("get delay 300; put fail-nth 2") into rs. */
static int parse_inline(const char *name, const char *text, struct rules *rs, orc_err *e)
{
    char *dup = orc_strdup(text), *save = NULL;
    int rc = ORC_OK;
    for (char *s = strtok_r(dup, ";", &save); s; s = strtok_r(NULL, ";", &save)) {
        struct rule r;
        int ok = parse_rule(s, &r);
        if (ok < 0 || (ok > 0 && rs->n == FAULT_RULES)) {
            rc = orc_fail(e, ORC_EINVAL,
                          "provider %s: faults: bad or too many rules (see "
                          "docs/configuration.md, Fault injection)",
                          name);
            break;
        }
        if (ok > 0) rs->r[rs->n++] = r;
    }
    free(dup);
    return rc;
}

int provider_fault_wrap(provider *inner, const char *rules, const char *path, provider **out,
                        orc_err *e)
{
    if (path && !*path) {
        int rc = orc_fail(e, ORC_EINVAL, "provider %s: fault_file is empty", inner->name);
        provider_free(inner);
        return rc;
    }
    fault_provider *f = orc_calloc(1, sizeof(*f));
    if (rules && parse_inline(inner->name, rules, &f->inline_rules, e)) {
        provider_free(inner);
        free(f);
        return ORC_EINVAL;
    }
    /* The decorator shows the inner kind and capabilities: callers see the
     * provider they configured, only slower or worse. */
    f->ops = (struct provider_ops){
        .kind = inner->ops->kind,
        .caps = inner->ops->caps,
        .free = fault_free,
    };
    f->base.ops = &f->ops;
    f->base.layer = &fault_layer;
    f->base.inner = inner;
    snprintf(f->base.name, sizeof(f->base.name), "%s", inner->name);
    f->path = path ? orc_strdup(path) : NULL;
    pthread_mutex_init(&f->mu, NULL);
    *out = &f->base;
    return ORC_OK;
}
