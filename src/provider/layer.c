/* What every layer of a provider stack shares (provider_impl.h): the
 * thread's call deadline and cancel flag, the step to the layer below, and
 * freeing a stack. Apart from provider.c (the public wrappers) so that the
 * decorators, which call these, and the wrappers, which call the
 * decorators' accounting, never call each other in a circle. */
#include "provider/provider_impl.h"

#include <string.h>
#include <time.h>

#include "util/time.h"

/* How often a sleeping layer looks at the cancel flag. */
#define CANCEL_POLL_MS 5

/* The deadline and cancel flag of the wrapper call this thread is in. */
static _Thread_local int64_t call_deadline;
static _Thread_local const _Atomic bool *call_cancel;

int64_t provider_set_call_deadline_us(int64_t deadline_us)
{
    int64_t was = call_deadline;
    call_deadline = deadline_us;
    return was;
}

int64_t provider_call_deadline_us(void)
{
    return call_deadline;
}

const _Atomic bool *provider_set_cancel(const _Atomic bool *flag)
{
    const _Atomic bool *was = call_cancel;
    call_cancel = flag;
    return was;
}

const _Atomic bool *provider_cancel_flag(void)
{
    return call_cancel;
}

bool provider_cancelled(void)
{
    return call_cancel && atomic_load(call_cancel);
}

int provider_sleep_ms(const provider *p, long ms, orc_err *e)
{
    int64_t end = orc_monotonic_us() + (int64_t)ms * 1000;
    for (;;) {
        if (provider_cancelled())
            return orc_fail(e, ORC_ECANCELED, "provider %s: call cancelled", p->name);
        int64_t left = end - orc_monotonic_us();
        if (left <= 0) return ORC_OK;
        if (left > CANCEL_POLL_MS * 1000) left = CANCEL_POLL_MS * 1000;
        struct timespec ts = {0, (long)left * 1000};
        nanosleep(&ts, NULL); /* a signal only makes the loop look again */
    }
}

bool provider_failure(int rc)
{
    return rc && rc != ORC_ENOTFOUND && rc != ORC_EINVAL && rc != ORC_ECANCELED;
}

int provider_call(provider *p, provider_callargs *c, orc_err *e)
{
    /* Every layer boundary looks at the flag: a cancelled call goes no
     * deeper, whatever layer it is in. */
    if (provider_cancelled())
        return orc_fail(e, ORC_ECANCELED, "provider %s: call cancelled", p->name);
    if (p->layer) return p->layer->call(p, c, e);
    switch (c->op) {
    case PROVIDER_PUT:
        return p->ops->put(p, c->name, c->data, c->len, e);
    case PROVIDER_GET:
        return p->ops->get(p, c->name, c->off, c->glen, c->out, e);
    case PROVIDER_DEL:
        return p->ops->del(p, c->name, e);
    case PROVIDER_HEAD:
        return p->ops->head(p, c->name, c->size, e);
    case PROVIDER_LIST:
        return p->ops->list(p, c->fn, c->ctx, e);
    }
    return orc_fail(e, ORC_EINTERNAL, "provider %s: unknown op", p->name);
}

provider *provider_find_layer(const provider *p, const char *layer)
{
    for (; p; p = p->inner)
        if (p->layer && strcmp(p->layer->role, layer) == 0) return (provider *)p;
    return NULL;
}

void provider_free(provider *p)
{
    if (p) p->ops->free(p);
}
