/* crc_crc32 / crc_crc32c / crc_crc64nvme: the published check values, a
 * longer vector cross-checked against zlib and a bitwise reference, and
 * running checksums that must not depend on how the input is split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/crc.h"

static const char check[] = "123456789";

/* bytes 0..255 three times, then "orchard": 775 bytes, so the 8-byte loop and
 * the byte tail both run. Values from zlib.crc32 and a bitwise Python CRC. */
static size_t long_input(uint8_t *out)
{
    size_t n = 0;
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < 256; i++)
            out[n++] = (uint8_t)i;
    memcpy(out + n, "orchard", 7);
    return n + 7;
}

static void test_check_values_match_the_catalogue(void **state)
{
    assert_int_equal(crc_crc32(0, check, 9), 0xcbf43926u);
    assert_int_equal(crc_crc32c(0, check, 9), 0xe3069283u);
    assert_true(crc_crc64nvme(0, check, 9) == 0xae8b14860a799888ull);
}

static void test_empty_input_is_zero(void **state)
{
    assert_int_equal(crc_crc32(0, "", 0), 0);
    assert_int_equal(crc_crc32c(0, "", 0), 0);
    assert_true(crc_crc64nvme(0, "", 0) == 0);
}

static void test_long_input_matches_reference(void **state)
{
    uint8_t buf[800];
    size_t n = long_input(buf);
    assert_int_equal(crc_crc32(0, buf, n), 0xe479ec82u);
    assert_int_equal(crc_crc32c(0, buf, n), 0x393c6233u);
    assert_true(crc_crc64nvme(0, buf, n) == 0xc7327be05275a2bcull);
}

static void test_running_checksum_is_independent_of_split(void **state)
{
    uint8_t buf[800];
    size_t n = long_input(buf);
    uint32_t w32 = crc_crc32(0, buf, n), w32c = crc_crc32c(0, buf, n);
    uint64_t w64 = crc_crc64nvme(0, buf, n);
    for (size_t cut = 0; cut <= n; cut += 13) {
        assert_int_equal(crc_crc32(crc_crc32(0, buf, cut), buf + cut, n - cut), w32);
        assert_int_equal(crc_crc32c(crc_crc32c(0, buf, cut), buf + cut, n - cut), w32c);
        assert_true(crc_crc64nvme(crc_crc64nvme(0, buf, cut), buf + cut, n - cut) == w64);
    }
    /* one byte at a time, from an odd address */
    uint32_t c = 0;
    for (size_t i = 1; i < n; i++)
        c = crc_crc32c(c, buf + i, 1);
    assert_int_equal(c, crc_crc32c(0, buf + 1, n - 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_values_match_the_catalogue),
        cmocka_unit_test(test_empty_input_is_zero),
        cmocka_unit_test(test_long_input_matches_reference),
        cmocka_unit_test(test_running_checksum_is_independent_of_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
