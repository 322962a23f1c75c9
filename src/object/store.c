/* The store's life cycle: the one place that knows what a store holds, so that
 * no caller above builds one field by field. */
#include "object/object_int.h"

#include <stdlib.h>

#include "util/alloc.h"

/* A chunk's copies, as placement chooses them, must all fit its record. */
_Static_assert(PLACE_MAX_COPIES <= META_MAX_COPIES,
               "placement chooses more copies than meta records");

store *object_store_new(meta *m, place *pl, const seal_keys *keys, const cdc_params *params,
                        int64_t gc_grace_ms)
{
    store *s = orc_calloc(1, sizeof(*s));
    s->m = m;
    s->pl = pl;
    s->keys = keys;
    if (params) s->cdc = *params;
    s->gc_grace_ms = gc_grace_ms;
    return s;
}

void object_store_free(store *s)
{
    free(s); /* the parts belong to the caller */
}
