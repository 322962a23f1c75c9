/* The in-memory provider for tests (see fake_provider.h). */
#include "fakes/fake_provider.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provider/provider_impl.h"
#include "util/alloc.h"
#include "util/time.h"

#define FAKE_HANG_MAX_US (5 * 1000 * 1000) /* a hang with no deadline (list) ends anyway */

struct blob {
    char *name;
    uint8_t *data;
    size_t len;
    struct blob *next;
};

struct script {
    int fail_n, fail_code, delay_ms;
    bool hang;
    int calls, running, max_running;
};

typedef struct fake_provider {
    struct provider base; /* first: what the wrappers see */
    pthread_mutex_t mu;   /* guards everything below */
    struct blob *blobs;
    struct script ops[FAKE_NOPS];
    int fail_all; /* fake_set_fail */
    bool corrupt;
} fake_provider;

static fake_provider *fake(provider *p)
{
    return (fake_provider *)p;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static struct blob **find(fake_provider *f, const char *name)
{
    struct blob **b = &f->blobs;
    while (*b && strcmp((*b)->name, name) != 0)
        b = &(*b)->next;
    return b;
}

/* Every call starts here: counts it and applies the script. Returns 1 to go
 * on with the real work, or the code the call answers. */
static int enter(fake_provider *f, enum fake_op op, orc_err *e)
{
    pthread_mutex_lock(&f->mu);
    struct script *s = &f->ops[op];
    s->calls++;
    if (++s->running > s->max_running) s->max_running = s->running;
    int delay = s->delay_ms, code = f->fail_all;
    if (!code && s->fail_n > 0) {
        s->fail_n--;
        code = s->fail_code;
    }
    pthread_mutex_unlock(&f->mu);
    if (code) return orc_fail(e, code, "provider %s: injected failure", f->base.name);
    if (delay) sleep_ms(delay);
    int64_t deadline = provider_call_deadline_us();
    if (!deadline) deadline = orc_monotonic_us() + FAKE_HANG_MAX_US;
    for (;;) {
        pthread_mutex_lock(&f->mu);
        bool hang = s->hang;
        pthread_mutex_unlock(&f->mu);
        if (!hang) return 1;
        if (orc_monotonic_us() >= deadline)
            return orc_fail(e, ORC_ETRANSIENT, "provider %s: timed out (injected hang)",
                            f->base.name);
        sleep_ms(2);
    }
}

static int leave(fake_provider *f, enum fake_op op, int rc)
{
    pthread_mutex_lock(&f->mu);
    f->ops[op].running--;
    pthread_mutex_unlock(&f->mu);
    return rc;
}

static int fake_put(provider *p, const char *name, const uint8_t *data, size_t len, orc_err *e)
{
    fake_provider *f = fake(p);
    int rc = enter(f, FAKE_PUT, e);
    if (rc != 1) return leave(f, FAKE_PUT, rc);
    pthread_mutex_lock(&f->mu);
    struct blob **b = find(f, name);
    if (!*b) {
        *b = orc_calloc(1, sizeof(**b));
        (*b)->name = orc_strdup(name);
    }
    free((*b)->data);
    (*b)->data = orc_malloc(len ? len : 1);
    memcpy((*b)->data, data, len);
    (*b)->len = len;
    pthread_mutex_unlock(&f->mu);
    return leave(f, FAKE_PUT, ORC_OK);
}

static int fake_get(provider *p, const char *name, uint64_t off, uint64_t len, orc_buf *out,
                    orc_err *e)
{
    fake_provider *f = fake(p);
    int rc = enter(f, FAKE_GET, e);
    if (rc != 1) return leave(f, FAKE_GET, rc);
    pthread_mutex_lock(&f->mu);
    struct blob *b = *find(f, name);
    if (!b) {
        rc = orc_fail(e, ORC_ENOTFOUND, "provider %s: %.16s not found (404)", p->name, name);
    } else {
        uint64_t n = off >= b->len ? 0 : b->len - off;
        if (len < n) n = len;
        size_t had = out->len;
        rc = orc_buf_append(out, b->data + (off < b->len ? off : b->len), (size_t)n, e);
        if (!rc && f->corrupt && n) out->ptr[had + n / 2] ^= 0x5a;
    }
    pthread_mutex_unlock(&f->mu);
    return leave(f, FAKE_GET, rc);
}

static int fake_del(provider *p, const char *name, orc_err *e)
{
    fake_provider *f = fake(p);
    int rc = enter(f, FAKE_DEL, e);
    if (rc != 1) return leave(f, FAKE_DEL, rc);
    pthread_mutex_lock(&f->mu);
    struct blob **b = find(f, name), *gone = *b;
    if (gone) {
        *b = gone->next;
        free(gone->name);
        free(gone->data);
        free(gone);
    }
    pthread_mutex_unlock(&f->mu);
    rc = gone ? ORC_OK : orc_fail(e, ORC_ENOTFOUND, "provider %s: not found (404)", p->name);
    return leave(f, FAKE_DEL, rc);
}

static int fake_head(provider *p, const char *name, uint64_t *size, orc_err *e)
{
    fake_provider *f = fake(p);
    int rc = enter(f, FAKE_HEAD, e);
    if (rc != 1) return leave(f, FAKE_HEAD, rc);
    pthread_mutex_lock(&f->mu);
    struct blob *b = *find(f, name);
    if (b) *size = b->len;
    pthread_mutex_unlock(&f->mu);
    rc = b ? ORC_OK : orc_fail(e, ORC_ENOTFOUND, "provider %s: not found (404)", p->name);
    return leave(f, FAKE_HEAD, rc);
}

/* Lists a snapshot of the names, so that fn may call back into p. */
static int fake_list(provider *p, provider_list_fn fn, void *ctx, orc_err *e)
{
    fake_provider *f = fake(p);
    int rc = enter(f, FAKE_LIST, e);
    if (rc != 1) return leave(f, FAKE_LIST, rc);
    pthread_mutex_lock(&f->mu);
    size_t n = 0, i = 0;
    for (struct blob *b = f->blobs; b; b = b->next)
        n++;
    char **names = orc_calloc(n ? n : 1, sizeof(*names));
    uint64_t *sizes = orc_calloc(n ? n : 1, sizeof(*sizes));
    for (struct blob *b = f->blobs; b; b = b->next, i++) {
        names[i] = orc_strdup(b->name);
        sizes[i] = b->len;
    }
    pthread_mutex_unlock(&f->mu);
    rc = ORC_OK;
    for (i = 0; i < n; i++) {
        if (!rc) rc = fn(ctx, names[i], sizes[i]);
        free(names[i]);
    }
    free(names);
    free(sizes);
    return leave(f, FAKE_LIST, rc);
}

static void fake_free(provider *p)
{
    fake_provider *f = fake(p);
    while (f->blobs) {
        struct blob *b = f->blobs;
        f->blobs = b->next;
        free(b->name);
        free(b->data);
        free(b);
    }
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static const struct provider_ops fake_ops = {
    "fake", PROVIDER_CAP_RANGE, fake_put, fake_get, fake_del, fake_head, fake_list, fake_free,
};

provider *fake_provider_new(const char *name)
{
    fake_provider *f = orc_calloc(1, sizeof(*f));
    f->base.ops = &fake_ops;
    snprintf(f->base.name, sizeof(f->base.name), "%s", name);
    f->base.down_after = PROVIDER_DOWN_AFTER_DEFAULT; /* as provider_open sets */
    pthread_mutex_init(&f->mu, NULL);
    return &f->base;
}

void fake_fail_next(provider *p, enum fake_op op, int n, int code)
{
    fake_provider *f = fake(p);
    pthread_mutex_lock(&f->mu);
    f->ops[op].fail_n = n;
    f->ops[op].fail_code = code;
    pthread_mutex_unlock(&f->mu);
}

void fake_set_fail(provider *p, int code)
{
    fake_provider *f = fake(p);
    pthread_mutex_lock(&f->mu);
    f->fail_all = code;
    pthread_mutex_unlock(&f->mu);
}

void fake_set_delay(provider *p, enum fake_op op, int ms)
{
    fake_provider *f = fake(p);
    pthread_mutex_lock(&f->mu);
    f->ops[op].delay_ms = ms;
    pthread_mutex_unlock(&f->mu);
}

void fake_set_hang(provider *p, enum fake_op op, bool on)
{
    fake_provider *f = fake(p);
    pthread_mutex_lock(&f->mu);
    f->ops[op].hang = on;
    pthread_mutex_unlock(&f->mu);
}

void fake_set_corrupt(provider *p, bool on)
{
    fake_provider *f = fake(p);
    pthread_mutex_lock(&f->mu);
    f->corrupt = on;
    pthread_mutex_unlock(&f->mu);
}

int fake_calls(provider *p, enum fake_op op)
{
    fake_provider *f = fake(p);
    pthread_mutex_lock(&f->mu);
    int n = f->ops[op].calls;
    pthread_mutex_unlock(&f->mu);
    return n;
}

int fake_max_in_flight(provider *p, enum fake_op op)
{
    fake_provider *f = fake(p);
    pthread_mutex_lock(&f->mu);
    int n = f->ops[op].max_running;
    pthread_mutex_unlock(&f->mu);
    return n;
}

size_t fake_count(provider *p)
{
    fake_provider *f = fake(p);
    size_t n = 0;
    pthread_mutex_lock(&f->mu);
    for (struct blob *b = f->blobs; b; b = b->next)
        n++;
    pthread_mutex_unlock(&f->mu);
    return n;
}

uint64_t fake_bytes(provider *p)
{
    fake_provider *f = fake(p);
    uint64_t n = 0;
    pthread_mutex_lock(&f->mu);
    for (struct blob *b = f->blobs; b; b = b->next)
        n += b->len;
    pthread_mutex_unlock(&f->mu);
    return n;
}

bool fake_has(provider *p, const char *name)
{
    fake_provider *f = fake(p);
    pthread_mutex_lock(&f->mu);
    bool has = *find(f, name) != NULL;
    pthread_mutex_unlock(&f->mu);
    return has;
}

bool fake_corrupt_blob(provider *p, const char *name)
{
    fake_provider *f = fake(p);
    pthread_mutex_lock(&f->mu);
    struct blob *b = *find(f, name);
    if (b && b->len) b->data[b->len / 2] ^= 0x5a;
    pthread_mutex_unlock(&f->mu);
    return b && b->len;
}
