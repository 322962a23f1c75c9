/* Reed-Solomon erasure coding over ISA-L (ec.h). Encoding multiplies the K
 * data fragments by the M parity rows of a Cauchy matrix; decoding inverts the
 * K x K matrix of the fragments at hand and multiplies them by the rows of
 * the missing data fragments, as ISA-L's own example does. */
#include "place/ec.h"

#include <isa-l/erasure_code.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

struct ec_code {
    int k, m;
    /* (k + m) x k: the identity on top (systematic), Cauchy rows below. */
    uint8_t matrix[EC_MAX_FRAGMENTS * EC_MAX_FRAGMENTS];
    /* ec_init_tables of the parity rows: k * m * 32 bytes. */
    uint8_t tables[EC_MAX_FRAGMENTS * EC_MAX_FRAGMENTS * 32];
};

int ec_new(int k, int m, ec_code **out, orc_err *e)
{
    *out = NULL;
    if (k < 1 || m < 1 || k + m > EC_MAX_FRAGMENTS)
        return orc_fail(e, ORC_EINVAL, "erasure code %d+%d: want K >= 1, M >= 1, K + M <= %d", k, m,
                        EC_MAX_FRAGMENTS);
    ec_code *c = orc_calloc(1, sizeof(*c));
    c->k = k;
    c->m = m;
    gf_gen_cauchy1_matrix(c->matrix, k + m, k);
    ec_init_tables(k, m, c->matrix + k * k, c->tables);
    *out = c;
    return ORC_OK;
}

void ec_free(ec_code *c)
{
    free(c);
}

int ec_k(const ec_code *c)
{
    return c->k;
}

int ec_m(const ec_code *c)
{
    return c->m;
}

size_t ec_frag_len(const ec_code *c, size_t len)
{
    size_t n = (len + (size_t)c->k - 1) / (size_t)c->k;
    return n ? n : 1;
}

int ec_encode(const ec_code *c, const uint8_t *data, size_t len, uint8_t *const *frags, orc_err *e)
{
    if (len == 0 || len > INT32_MAX)
        return orc_fail(e, ORC_EINVAL, "erasure code: a chunk of %zu bytes", len);
    size_t fl = ec_frag_len(c, len);
    for (int i = 0; i < c->k; i++) {
        size_t from = (size_t)i * fl, n = from < len ? len - from : 0;
        if (n > fl) n = fl;
        if (n) memcpy(frags[i], data + from, n);
        memset(frags[i] + n, 0, fl - n);
    }
    /* ISA-L takes non-const pointers; it only reads the data fragments. */
    ec_encode_data((int)fl, c->k, c->m, (unsigned char *)c->tables, (unsigned char **)frags,
                   (unsigned char **)frags + c->k);
    return ORC_OK;
}

/* Copies data fragment i (fl bytes at src) into its place in out[0, len). */
static void place_fragment(uint8_t *out, size_t len, size_t fl, int i, const uint8_t *src)
{
    size_t from = (size_t)i * fl;
    if (from >= len) return;
    size_t n = len - from < fl ? len - from : fl;
    memcpy(out + from, src, n);
}

int ec_decode(const ec_code *c, const uint8_t *const *frags, const bool *have, size_t len,
              uint8_t *out, orc_err *e)
{
    int k = c->k, n = c->k + c->m;
    if (len == 0 || len > INT32_MAX)
        return orc_fail(e, ORC_EINVAL, "erasure code: a chunk of %zu bytes", len);
    size_t fl = ec_frag_len(c, len);

    /* The first k fragments at hand, data ones first (they need no math). */
    int use[EC_MAX_FRAGMENTS], nuse = 0, missing[EC_MAX_FRAGMENTS], nmissing = 0;
    for (int i = 0; i < n && nuse < k; i++)
        if (have[i]) use[nuse++] = i;
    if (nuse < k)
        return orc_fail(e, ORC_ENOTFOUND, "erasure code %d+%d: %d fragments at hand, %d needed", k,
                        c->m, nuse, k);
    for (int i = 0; i < k; i++) {
        if (have[i])
            place_fragment(out, len, fl, i, frags[i]);
        else
            missing[nmissing++] = i;
    }
    if (!nmissing) return ORC_OK;

    /* Rows of the fragments used, inverted: row j of the inverse rebuilds
     * data fragment j from them. */
    uint8_t sub[EC_MAX_FRAGMENTS * EC_MAX_FRAGMENTS], inv[EC_MAX_FRAGMENTS * EC_MAX_FRAGMENTS];
    for (int r = 0; r < k; r++)
        memcpy(sub + r * k, c->matrix + use[r] * k, (size_t)k);
    if (gf_invert_matrix(sub, inv, k) != 0) /* cannot happen for a Cauchy code */
        return orc_fail(e, ORC_EINTERNAL, "erasure code %d+%d: singular decode matrix", k, c->m);
    uint8_t rows[EC_MAX_FRAGMENTS * EC_MAX_FRAGMENTS];
    uint8_t tables[EC_MAX_FRAGMENTS * EC_MAX_FRAGMENTS * 32];
    for (int j = 0; j < nmissing; j++)
        memcpy(rows + j * k, inv + missing[j] * k, (size_t)k);
    ec_init_tables(k, nmissing, rows, tables);

    /* A missing fragment that lies wholly inside out is rebuilt in place;
     * only one that out cuts short (the padded last, or past its end) goes
     * through a scratch fragment. */
    const uint8_t *src[EC_MAX_FRAGMENTS];
    uint8_t *dst[EC_MAX_FRAGMENTS];
    int nshort = 0;
    for (int j = 0; j < nmissing; j++)
        if ((size_t)(missing[j] + 1) * fl > len) nshort++;
    uint8_t *rebuilt = nshort ? orc_malloc((size_t)nshort * fl) : NULL;
    for (int r = 0; r < k; r++)
        src[r] = frags[use[r]];
    for (int j = 0, t = 0; j < nmissing; j++)
        dst[j] = (size_t)(missing[j] + 1) * fl <= len ? out + (size_t)missing[j] * fl
                                                      : rebuilt + (size_t)t++ * fl;
    ec_encode_data((int)fl, k, nmissing, tables, (unsigned char **)src, dst);
    for (int j = 0; j < nmissing; j++)
        if ((size_t)(missing[j] + 1) * fl > len) place_fragment(out, len, fl, missing[j], dst[j]);
    free(rebuilt);
    return ORC_OK;
}
