/* The fault decorator, a test facility: wraps a real provider and, on every
 * call, applies the rules of a small text file that a test rewrites at run
 * time, so an integration test can make a provider hang, fail, answer late or
 * return flipped bytes, and recover, without touching the real backend.
 *
 * The file is re-read whenever its size, inode or mtime changes. One rule a
 * line, the first matching one applies, '#' starts a comment:
 *     OP ACTION [MS]      OP: put get del head list *
 *     hang     block until the rule is gone or the call's deadline passes
 *     late     do the call, then block as hang does (the answer comes too late)
 *     fail     ORC_ETRANSIENT at once, as a 503 would
 *     delay MS sleep MS milliseconds, then do the call
 *     corrupt  (get) do the call, then flip a byte of what it returned
 * A missing or empty file means no faults. */
#include "provider/provider_impl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/alloc.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/time.h"

#define FAULT_RULES 16
#define FAULT_LINE 128
#define FAULT_POLL_MS 20
/* A hang with no deadline (provider_list) ends after this long anyway. */
#define FAULT_HANG_MAX_US (600ll * 1000000)

enum fault_op { OP_PUT, OP_GET, OP_DEL, OP_HEAD, OP_LIST, OP_ANY };
enum fault_action { ACT_NONE, ACT_HANG, ACT_LATE, ACT_FAIL, ACT_DELAY, ACT_CORRUPT };

struct rule {
    int op, action;
    long ms;
};

typedef struct fault_provider {
    provider base; /* first: provider.c casts */
    struct provider_ops ops;
    provider *inner;
    char *path;
    pthread_mutex_t mu; /* guards what follows */
    struct stat seen;   /* of the file when last read; st_ino 0: absent */
    struct rule rules[FAULT_RULES];
    int nrules;
} fault_provider;

static const char *const op_names[] = {"put", "get", "del", "head", "list", "*"};
static const char *const act_names[] = {"", "hang", "late", "fail", "delay", "corrupt"};

static int word_index(const char *w, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(w, names[i])) return i;
    return -1;
}

/* Parses one line into r; false for a blank, comment or bad line (logged). */
static bool parse_rule(const fault_provider *f, char *line, struct rule *r)
{
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char *words[3] = {0};
    int n = 0;
    for (char *c = line; *c && n < 3;) { /* split on blanks, in place */
        c += strspn(c, " \t\r\n");
        if (!*c) break;
        words[n++] = c;
        c += strcspn(c, " \t\r\n");
        if (*c) *c++ = 0;
    }
    if (n == 0) return false;
    r->op = n >= 2 ? word_index(words[0], op_names, 6) : -1;
    r->action = n >= 2 ? word_index(words[1], act_names, 6) : -1;
    r->ms = 0;
    uint64_t ms = 0;
    if (r->action == ACT_DELAY && (!words[2] || parse_uint_max(words[2], 3600000, &ms)))
        r->action = -1;
    r->ms = (long)ms;
    if (r->op < 0 || r->action <= 0) {
        LOG_WARN("provider %s: fault file %s: ignoring a bad rule", f->base.name, f->path);
        return false;
    }
    return true;
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
    f->nrules = 0;
    FILE *fp = st.st_ino ? fopen(f->path, "r") : NULL;
    if (!fp) return;
    char line[FAULT_LINE];
    while (f->nrules < FAULT_RULES && fgets(line, sizeof(line), fp))
        if (parse_rule(f, line, &f->rules[f->nrules])) f->nrules++;
    fclose(fp);
}

/* The rule that applies to op now (ACT_NONE when none does). */
static struct rule current(fault_provider *f, int op)
{
    struct rule r = {op, ACT_NONE, 0};
    pthread_mutex_lock(&f->mu);
    reload(f);
    for (int i = 0; i < f->nrules; i++)
        if (f->rules[i].op == op || f->rules[i].op == OP_ANY) {
            r = f->rules[i];
            break;
        }
    pthread_mutex_unlock(&f->mu);
    return r;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* Blocks while op's rule is still `action`, up to the call's deadline.
 * ORC_ETRANSIENT (as a timed-out request) when the deadline passed, 0 when
 * the rule went away first. */
static int hang(fault_provider *f, int op, int action, orc_err *e)
{
    int64_t deadline = provider_call_deadline_us();
    if (!deadline) deadline = orc_monotonic_us() + FAULT_HANG_MAX_US;
    while (current(f, op).action == action) {
        if (orc_monotonic_us() >= deadline)
            return orc_fail(e, ORC_ETRANSIENT, "provider %s: %s timed out (injected hang)",
                            f->base.name, op_names[op]);
        sleep_ms(FAULT_POLL_MS);
    }
    return ORC_OK;
}

/* What happens before the real call: ACT_NONE/ACT_LATE/ACT_CORRUPT go on
 * (returns 1), others answer here (returns <= 0). */
static int before(fault_provider *f, int op, struct rule *r, orc_err *e)
{
    *r = current(f, op);
    switch (r->action) {
    case ACT_FAIL:
        return orc_fail(e, ORC_ETRANSIENT, "provider %s: 503 SlowDown on %s (injected)",
                        f->base.name, op_names[op]);
    case ACT_HANG: {
        int rc = hang(f, op, ACT_HANG, e);
        return rc ? rc : 1;
    }
    case ACT_DELAY:
        sleep_ms(r->ms);
        return 1;
    default:
        return 1;
    }
}

/* After the real call: a late answer waits out the deadline. */
static int after(fault_provider *f, int op, const struct rule *r, int rc, orc_err *e)
{
    if (r->action != ACT_LATE) return rc;
    int hrc = hang(f, op, ACT_LATE, e);
    return hrc ? hrc : rc;
}

static int fault_put(provider *p, const char *name, const uint8_t *data, size_t len, orc_err *e)
{
    fault_provider *f = (fault_provider *)p;
    struct rule r;
    int rc = before(f, OP_PUT, &r, e);
    if (rc <= 0) return rc;
    rc = f->inner->ops->put(f->inner, name, data, len, e);
    return after(f, OP_PUT, &r, rc, e);
}

static int fault_get(provider *p, const char *name, uint64_t off, uint64_t len, orc_buf *out,
                     orc_err *e)
{
    fault_provider *f = (fault_provider *)p;
    struct rule r;
    size_t had = out->len;
    int rc = before(f, OP_GET, &r, e);
    if (rc <= 0) return rc;
    rc = f->inner->ops->get(f->inner, name, off, len, out, e);
    if (!rc && r.action == ACT_CORRUPT && out->len > had) out->ptr[had + (out->len - had) / 2] ^= 1;
    rc = after(f, OP_GET, &r, rc, e);
    if (rc) out->len = had;
    return rc;
}

static int fault_del(provider *p, const char *name, orc_err *e)
{
    fault_provider *f = (fault_provider *)p;
    struct rule r;
    int rc = before(f, OP_DEL, &r, e);
    if (rc <= 0) return rc;
    return after(f, OP_DEL, &r, f->inner->ops->del(f->inner, name, e), e);
}

static int fault_head(provider *p, const char *name, uint64_t *size, orc_err *e)
{
    fault_provider *f = (fault_provider *)p;
    struct rule r;
    int rc = before(f, OP_HEAD, &r, e);
    if (rc <= 0) return rc;
    return after(f, OP_HEAD, &r, f->inner->ops->head(f->inner, name, size, e), e);
}

static int fault_list(provider *p, provider_list_fn fn, void *ctx, orc_err *e)
{
    fault_provider *f = (fault_provider *)p;
    struct rule r;
    int rc = before(f, OP_LIST, &r, e);
    if (rc <= 0) return rc;
    return after(f, OP_LIST, &r, f->inner->ops->list(f->inner, fn, ctx, e), e);
}

static void fault_free(provider *p)
{
    fault_provider *f = (fault_provider *)p;
    provider_free(f->inner);
    pthread_mutex_destroy(&f->mu);
    free(f->path);
    free(f);
}

int provider_fault_wrap(provider *inner, const char *path, provider **out, orc_err *e)
{
    if (!*path) {
        provider_free(inner);
        return orc_fail(e, ORC_EINVAL, "provider %s: fault_file is empty", inner->name);
    }
    fault_provider *f = orc_calloc(1, sizeof(*f));
    /* The decorator shows the inner kind and capabilities: callers see the
     * provider they configured, only slower or worse. */
    f->ops = (struct provider_ops){inner->ops->kind, inner->ops->caps, fault_put,  fault_get,
                                   fault_del,        fault_head,       fault_list, fault_free};
    f->base.ops = &f->ops;
    f->inner = inner;
    f->path = orc_strdup(path);
    pthread_mutex_init(&f->mu, NULL);
    *out = &f->base;
    return ORC_OK;
}
