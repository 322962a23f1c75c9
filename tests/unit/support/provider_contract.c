/* The provider contract checks (see provider_contract.h). */
#include "support/provider_contract.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/hex.h"

void contract_name(const char *tag, unsigned i, char out[65])
{
    uint8_t raw[32] = {0};
    snprintf((char *)raw, sizeof(raw), "%s-%u-%ld", tag, i, (long)getpid());
    for (size_t k = 0; k < sizeof(raw); k++)
        raw[k] = (uint8_t)(raw[k] * 31 + k);
    hex_encode(raw, sizeof(raw), out);
}

void contract_pattern(uint8_t *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

void contract_put_ok(provider *p, const char *name, const uint8_t *d, size_t n)
{
    orc_err e = {0};
    int rc = provider_put(p, name, d, n, &e);
    if (rc) fprintf(stderr, "put: %s\n", e.msg);
    assert_int_equal(rc, ORC_OK);
}

void contract_round_trip(provider *p)
{
    uint8_t data[CONTRACT_SIZE];
    char name[65];
    orc_buf out;
    orc_err e = {0};
    provider_stats st;
    contract_pattern(data, CONTRACT_SIZE, 1);
    contract_name("rt", 0, name);
    contract_put_ok(p, name, data, CONTRACT_SIZE);
    contract_put_ok(p, name, data, CONTRACT_SIZE); /* same bytes again: fine */
    orc_buf_init(&out, 0);
    assert_int_equal(provider_get(p, name, 0, UINT64_MAX, &out, &e), ORC_OK);
    assert_int_equal(out.len, CONTRACT_SIZE);
    assert_memory_equal(out.ptr, data, CONTRACT_SIZE);
    provider_stats_get(p, &st);
    assert_int_equal(st.bytes_in, 2 * CONTRACT_SIZE);
    assert_int_equal(st.bytes_out, CONTRACT_SIZE);
    orc_buf_dispose(&out);
}

void contract_empty(provider *p)
{
    char name[65];
    orc_buf out;
    orc_err e = {0};
    uint64_t size = 99;
    contract_name("empty", 0, name);
    contract_put_ok(p, name, (const uint8_t *)"", 0);
    orc_buf_init(&out, 0);
    assert_int_equal(provider_head(p, name, &size, &e), ORC_OK);
    assert_int_equal(size, 0);
    assert_int_equal(provider_get(p, name, 0, UINT64_MAX, &out, &e), ORC_OK);
    assert_int_equal(out.len, 0);
    orc_buf_dispose(&out);
}

/* Appends get(off, len) to a buffer holding "X" and checks it against data. */
void contract_check_range(provider *p, const char *name, const uint8_t *data, uint64_t off,
                          uint64_t len, size_t want)
{
    orc_buf out;
    orc_err e = {0};
    orc_buf_init(&out, 0);
    orc_buf_append(&out, "X", 1, NULL); /* get appends: the prefix must survive */
    int rc = provider_get(p, name, off, len, &out, &e);
    if (rc)
        fprintf(stderr, "get %llu+%llu: %s\n", (unsigned long long)off, (unsigned long long)len,
                e.msg);
    assert_int_equal(rc, ORC_OK);
    assert_int_equal(out.len, 1 + want);
    assert_int_equal(out.ptr[0], 'X');
    if (want) assert_memory_equal(out.ptr + 1, data + off, want);
    orc_buf_dispose(&out);
}

void contract_ranges(provider *p)
{
    uint8_t data[CONTRACT_SIZE];
    char name[65];
    contract_pattern(data, CONTRACT_SIZE, 2);
    contract_name("range", 0, name);
    contract_put_ok(p, name, data, CONTRACT_SIZE);
    contract_check_range(p, name, data, 0, 1, 1);
    contract_check_range(p, name, data, 10, 20, 20);
    contract_check_range(p, name, data, 100, UINT64_MAX, CONTRACT_SIZE - 100); /* bytes=100- */
    contract_check_range(p, name, data, 999, 1, 1);
    contract_check_range(p, name, data, 990, 100, 10); /* runs past the end */
    contract_check_range(p, name, data, 5, UINT64_MAX - 2,
                         CONTRACT_SIZE - 5);                   /* off + len overflows */
    contract_check_range(p, name, data, CONTRACT_SIZE, 10, 0); /* 416 */
    contract_check_range(p, name, data, 5000, UINT64_MAX, 0);
    contract_check_range(p, name, data, 3, 0, 0);
}

void contract_missing(provider *p, bool strict_delete)
{
    char name[65];
    orc_buf out;
    orc_err e = {0};
    uint64_t size;
    contract_name("missing", 0, name);
    orc_buf_init(&out, 0);
    assert_int_equal(provider_get(p, name, 0, UINT64_MAX, &out, &e), ORC_ENOTFOUND);
    assert_non_null(strstr(e.msg, "404"));
    assert_non_null(strstr(e.msg, provider_name(p)));
    assert_int_equal(provider_get(p, name, 10, 10, &out, &e), ORC_ENOTFOUND);
    assert_int_equal(provider_get(p, name, 0, 0, &out, &e), ORC_ENOTFOUND);
    assert_int_equal(provider_head(p, name, &size, &e), ORC_ENOTFOUND);
    assert_int_equal(out.len, 0);
    int rc = provider_del(p, name, &e);
    if (strict_delete)
        assert_int_equal(rc, ORC_ENOTFOUND);
    else
        assert_true(rc == ORC_OK || rc == ORC_ENOTFOUND);
    orc_buf_dispose(&out);
}

void contract_delete_head(provider *p, bool strict_delete)
{
    uint8_t data[CONTRACT_SIZE];
    char name[65];
    orc_buf out;
    orc_err e = {0};
    uint64_t size = 0;
    contract_pattern(data, CONTRACT_SIZE, 3);
    contract_name("del", 0, name);
    contract_put_ok(p, name, data, 777);
    assert_int_equal(provider_head(p, name, &size, &e), ORC_OK);
    assert_int_equal(size, 777);
    assert_int_equal(provider_del(p, name, &e), ORC_OK);
    assert_int_equal(provider_head(p, name, &size, &e), ORC_ENOTFOUND);
    orc_buf_init(&out, 0);
    assert_int_equal(provider_get(p, name, 0, UINT64_MAX, &out, &e), ORC_ENOTFOUND);
    orc_buf_dispose(&out);
    if (strict_delete) assert_int_equal(provider_del(p, name, &e), ORC_ENOTFOUND);
}
