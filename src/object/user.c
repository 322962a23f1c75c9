/* Users as the front needs them: the signing secret of an access key, opened
 * from the form sealed under the master secret. The front never sees the
 * sealed bytes or the keys that open them. */
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
