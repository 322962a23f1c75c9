/* The multipart side of s3/checksum.c and the multipart query parsers: S3's
 * composite checksum of parts (the checksum of their raw checksums, "-N"),
 * when one is not made, how an upload keeps its algorithm among its stored
 * headers, CreateMultipartUpload's checksum headers, and part numbers, max-*
 * values and copy ranges as clients send them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "s3/checksum.h"
#include "s3/multipart_parse.h"

/* CRC32 0x01020304 and 0xA0B0C0D0 as parts store them; the composite is
 * CRC32 of their 8 raw bytes (computed with Python's zlib). */
#define CRC_A "CRC32:AQIDBA=="
#define CRC_B "CRC32:oLDA0A=="
#define SHA_X "SHA256:LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=" /* SHA-256("x") */

static void test_composite_of_parts(void **state)
{
    (void)state;
    char v[S3_CHECKSUM_COMPOSITE_MAX];
    const char *two[] = {CRC_A, CRC_B};
    assert_int_equal(s3_checksum_composite(two, 2, S3_CK_NONE, v), S3_CK_CRC32);
    assert_string_equal(v, "iB/4Pw==-2");
    assert_int_equal(s3_checksum_composite(two, 2, S3_CK_CRC32, v), S3_CK_CRC32);
    const char *one[] = {SHA_X};
    assert_int_equal(s3_checksum_composite(one, 1, S3_CK_NONE, v), S3_CK_SHA256);
    assert_string_equal(v, "CjJcowPrMBTEOuAElw80NjTbF2+haXvMjJ76yUYmSI0=-1");
}

static void test_no_composite_unless_every_part_agrees(void **state)
{
    (void)state;
    char v[S3_CHECKSUM_COMPOSITE_MAX];
    const char *missing[] = {CRC_A, NULL}, *none[] = {CRC_A, ""}, *mixed[] = {CRC_A, SHA_X};
    const char *crc64[] = {"CRC64NVME:AAAAAAAAAAA="}, *two[] = {CRC_A, CRC_B};
    assert_int_equal(s3_checksum_composite(missing, 2, S3_CK_NONE, v), S3_CK_NONE);
    assert_int_equal(s3_checksum_composite(none, 2, S3_CK_NONE, v), S3_CK_NONE);
    assert_int_equal(s3_checksum_composite(mixed, 2, S3_CK_NONE, v), S3_CK_NONE);
    assert_int_equal(s3_checksum_composite(crc64, 1, S3_CK_NONE, v), S3_CK_NONE);
    /* The upload named another algorithm than its parts carry. */
    assert_int_equal(s3_checksum_composite(two, 2, S3_CK_SHA256, v), S3_CK_NONE);
}

static void test_upload_keeps_its_algorithm_line(void **state)
{
    (void)state;
    const char *h = "x-amz-meta-a: b\nx-amz-checksum-algorithm: SHA1\nx-amz-meta-c: d\n";
    assert_int_equal(s3_checksum_upload_alg(h), S3_CK_SHA1);
    assert_int_equal(s3_checksum_upload_alg("x-amz-meta-a: b\n"), S3_CK_NONE);
    assert_int_equal(s3_checksum_upload_alg(NULL), S3_CK_NONE);
    char *o = s3_checksum_object_headers(h, "x-amz-checksum-sha1: v-2\n");
    assert_string_equal(o, "x-amz-meta-a: b\nx-amz-meta-c: d\nx-amz-checksum-sha1: v-2\n");
    free(o);
    /* Only the algorithm line: "" (no headers), not NULL (the upload's). */
    o = s3_checksum_object_headers("x-amz-checksum-algorithm: SHA1\n", NULL);
    assert_string_equal(o, "");
    free(o);
    assert_null(s3_checksum_object_headers(NULL, NULL));
    uint8_t raw[S3_CHECKSUM_MAX];
    char st[S3_CHECKSUM_STORED_MAX];
    s3_checksum_stored_text("x-amz-checksum-crc32", "AQIDBA==", st);
    assert_string_equal(st, CRC_A);
    assert_int_equal(s3_checksum_stored(st, raw), S3_CK_CRC32);
    assert_memory_equal(raw, "\x01\x02\x03\x04", 4);
    assert_int_equal(s3_checksum_stored("CRC32:AQIDBA=", raw), S3_CK_NONE);
    assert_int_equal(s3_checksum_stored("", raw), S3_CK_NONE);
}

static void test_create_checksum_headers(void **state)
{
    (void)state;
    enum s3_checksum_alg a;
    const char *msg;
    assert_int_equal(s3_checksum_create_args(NULL, NULL, &a, &msg), S3E_NONE);
    assert_int_equal(a, S3_CK_NONE);
    assert_int_equal(s3_checksum_create_args("crc32c", "COMPOSITE", &a, &msg), S3E_NONE);
    assert_int_equal(a, S3_CK_CRC32C);
    assert_int_equal(s3_checksum_create_args("MD5", NULL, &a, &msg), S3E_INVALID_REQUEST);
    assert_non_null(msg);
    assert_int_equal(s3_checksum_create_args(NULL, "COMPOSITE", &a, &msg), S3E_INVALID_REQUEST);
    assert_int_equal(s3_checksum_create_args("CRC32", "FULL_OBJECT", &a, &msg),
                     S3E_NOT_IMPLEMENTED);
    assert_int_equal(s3_checksum_create_args("CRC64NVME", NULL, &a, &msg), S3E_NOT_IMPLEMENTED);
}

static void test_multipart_query_values(void **state)
{
    (void)state;
    int n = 0;
    size_t max = 7;
    uint64_t first = 1, last = 1;
    assert_int_equal(s3_mp_parse_part_number("1", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(s3_mp_parse_part_number("10000", &n), 0);
    assert_int_equal(s3_mp_parse_part_number("10001", &n), -1);
    assert_int_equal(s3_mp_parse_part_number("0", &n), -1);
    assert_int_equal(s3_mp_parse_part_number("-1", &n), -1);
    assert_int_equal(s3_mp_parse_part_number("", &n), -1);
    assert_int_equal(s3_mp_parse_part_number(NULL, &n), -1);
    assert_int_equal(s3_mp_parse_max(NULL, &max), 0);
    assert_int_equal(max, 7);
    assert_int_equal(s3_mp_parse_max("5000", &max), 0);
    assert_int_equal(max, S3_MP_LIST_MAX);
    assert_int_equal(s3_mp_parse_max("4294967296", &max), -1);
    assert_int_equal(s3_mp_parse_max("x", &max), -1);
    assert_int_equal(s3_mp_parse_copy_range("bytes=0-9", &first, &last), 0);
    assert_true(first == 0 && last == 9);
    assert_int_equal(s3_mp_parse_copy_range("bytes=9-0", &first, &last), -1);
    assert_int_equal(s3_mp_parse_copy_range("bytes=5-", &first, &last), -1);
    assert_int_equal(s3_mp_parse_copy_range("bytes=-5", &first, &last), -1);
    assert_int_equal(s3_mp_parse_copy_range("0-5", &first, &last), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_composite_of_parts),
        cmocka_unit_test(test_no_composite_unless_every_part_agrees),
        cmocka_unit_test(test_upload_keeps_its_algorithm_line),
        cmocka_unit_test(test_create_checksum_headers),
        cmocka_unit_test(test_multipart_query_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
