/* Users: the signing secret of an access key, opened from the form sealed
 * under the master secret, for the front; adding, listing and removing users
 * and replacing a secret, for `orchard user` and the first start. Neither
 * caller sees the sealed bytes or the keys that open them. */
#include "object/object_int.h"

#include <openssl/crypto.h>
#include <string.h>

int object_user_secret(store *s, const char *access_key, meta_user *user, char *secret, size_t cap,
                       orc_err *e)
{
    uint8_t plain[256];
    int rc = meta_user_by_key(s->m, access_key, user, e);
    if (rc) return rc;
    size_t n = user->secret_sealed_len;
    /* Too short to hold a sealed secret, or longer than the caller's room:
     * either way the row is not one this server wrote for this use. */
    if (n < SEAL_SECRET_OVERHEAD || n - SEAL_SECRET_OVERHEAD >= cap ||
        n - SEAL_SECRET_OVERHEAD > sizeof(plain) ||
        seal_secret_open(s->keys, user->secret_sealed, n, plain, e)) {
        return orc_fail(e, ORC_ECORRUPT,
                        "user %s: stored secret cannot be opened (wrong master secret?)",
                        user->name);
    }
    memcpy(secret, plain, n - SEAL_SECRET_OVERHEAD);
    secret[n - SEAL_SECRET_OVERHEAD] = 0;
    OPENSSL_cleanse(plain, sizeof(plain));
    return ORC_OK;
}

/* secret sealed into sealed (room: OBJECT_SECRET_MAX + SEAL_SECRET_OVERHEAD),
 * its length in *len. */
static int seal_user_secret(store *s, const char *secret, uint8_t *sealed, size_t *len, orc_err *e)
{
    size_t n = strlen(secret);
    if (n < OBJECT_SECRET_MIN || n > OBJECT_SECRET_MAX)
        return orc_fail(e, ORC_EINVAL, "a secret key must be %d-%d characters", OBJECT_SECRET_MIN,
                        OBJECT_SECRET_MAX);
    *len = n + SEAL_SECRET_OVERHEAD;
    return seal_secret(s->keys, (const uint8_t *)secret, n, sealed, e);
}

int object_user_add(store *s, const char *name, const char *access_key, const char *secret,
                    orc_err *e)
{
    uint8_t sealed[OBJECT_SECRET_MAX + SEAL_SECRET_OVERHEAD];
    size_t len = 0;
    int64_t id;
    size_t akn = strlen(access_key);
    if (akn == 0 || akn > OBJECT_ACCESS_KEY_MAX)
        return orc_fail(e, ORC_EINVAL, "an access key must be 1-%d characters",
                        OBJECT_ACCESS_KEY_MAX);
    int rc = seal_user_secret(s, secret, sealed, &len, e);
    if (!rc) rc = meta_user_add(s->m, name, access_key, sealed, len, &id, e);
    OPENSSL_cleanse(sealed, sizeof(sealed));
    return rc;
}

int object_user_set_secret(store *s, const char *name, const char *secret, orc_err *e)
{
    uint8_t sealed[OBJECT_SECRET_MAX + SEAL_SECRET_OVERHEAD];
    size_t len = 0;
    int rc = seal_user_secret(s, secret, sealed, &len, e);
    if (!rc) rc = meta_user_set_secret(s->m, name, sealed, len, e);
    OPENSSL_cleanse(sealed, sizeof(sealed));
    return rc;
}

int object_user_by_key(store *s, const char *access_key, meta_user *out, orc_err *e)
{
    return meta_user_by_key(s->m, access_key, out, e);
}

int object_user_by_name(store *s, const char *name, meta_user *out, orc_err *e)
{
    return meta_user_by_name(s->m, name, out, e);
}

int object_user_list(store *s, meta_user **out, size_t *n, orc_err *e)
{
    return meta_user_list(s->m, out, n, e);
}

int object_user_remove(store *s, const char *name, orc_err *e)
{
    return meta_user_remove(s->m, name, e);
}
