/* Buckets: S3's naming rules for new buckets, and who owns which bucket
 * (every object in a bucket belongs to its one owner). */
#include "object/object_int.h"

#include <string.h>

static bool is_ipv4(const char *s)
{
    int dots = 0, digits = 0;
    for (; *s; s++) {
        if (*s == '.') {
            if (!digits) return false;
            dots++;
            digits = 0;
        } else if (*s >= '0' && *s <= '9') {
            if (++digits > 3) return false;
        } else {
            return false;
        }
    }
    return dots == 3 && digits;
}

bool bucket_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n < 3 || n > META_BUCKET_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return false;
    }
    if (name[0] == '.' || name[0] == '-' || name[n - 1] == '.' || name[n - 1] == '-') return false;
    if (strstr(name, "..") || strstr(name, ".-") || strstr(name, "-.")) return false;
    if (strncmp(name, "xn--", 4) == 0 || strncmp(name, "sthree-", 7) == 0) return false;
    if (n > 8 && strcmp(name + n - 8, "-s3alias") == 0) return false;
    if (n > 9 && strcmp(name + n - 9, "--ol-s3") == 0) return false;
    return !is_ipv4(name);
}

int object_bucket_list(store *s, int64_t owner, meta_bucket **out, size_t *n, orc_err *e)
{
    return meta_bucket_list(s->m, owner, out, n, e);
}

int object_bucket_create(store *s, const char *name, int64_t owner, const char *region, orc_err *e)
{
    meta_bucket b;
    int rc = meta_bucket_create(s->m, name, owner, region, e);
    if (rc != ORC_EEXISTS) return rc;
    /* Taken: by whom tells S3's answers apart. A failed look-up (the bucket
     * went meanwhile) counts as someone else's, as it did before. */
    if (meta_bucket_get(s->m, name, &b, NULL) != 0 || b.owner != owner)
        return orc_fail(e, ORC_EEXISTS, "bucket %s exists", name);
    /* S3's legacy behaviour: in us-east-1 creating a bucket you own again
     * succeeds; every other region says so with a 409. */
    if (strcmp(b.region, "us-east-1") == 0) return ORC_OK;
    return orc_fail_detail(e, ORC_EEXISTS, ORC_D_BUCKET_OWNED, "bucket %s is yours already", name);
}

int object_bucket_get(store *s, const char *name, meta_bucket *out, orc_err *e)
{
    return meta_bucket_get(s->m, name, out, e);
}

int object_bucket_owned(store *s, const char *name, int64_t owner, meta_bucket *out, orc_err *e)
{
    int rc = meta_bucket_get(s->m, name, out, e);
    if (rc) return rc;
    if (out->owner != owner) return orc_fail(e, ORC_EAUTH, "bucket %s is not yours", name);
    return ORC_OK;
}

int object_bucket_delete(store *s, const char *name, int64_t owner, orc_err *e)
{
    meta_bucket b;
    int rc = object_bucket_owned(s, name, owner, &b, e);
    return rc ? rc : meta_bucket_delete(s->m, name, e);
}

int object_bucket_set_class(store *s, const char *name, const char *storage_class, orc_err *e)
{
    return meta_bucket_set_class(s->m, name, storage_class, e);
}
