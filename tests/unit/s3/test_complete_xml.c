/* s3_complete_parse: the CompleteMultipartUpload body as a stream, up to the
 * 10,000 parts S3 allows with a checksum on every one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "s3/complete_xml.h"
#include "util/buf.h"

#define MD5 "0123456789abcdef0123456789abcdef"
#define SHA256_B64 "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

static enum s3_error parse(const char *doc, s3_complete_list *l)
{
    return s3_complete_parse(doc, strlen(doc), l);
}

static void expect(const char *doc, enum s3_error want)
{
    s3_complete_list l;
    assert_int_equal(parse(doc, &l), want);
    s3_complete_list_free(&l);
}

static void test_parts_numbers_etags_and_checksums(void **state)
{
    s3_complete_list l;
    /* " 2" is no number: S3's schema has no blanks in an integer */
    expect("<CompleteMultipartUpload><Part><PartNumber> 2</PartNumber><ETag>x</ETag></Part>"
           "</CompleteMultipartUpload>",
           S3E_MALFORMED_XML);

    const char *ok =
        "<CompleteMultipartUpload>"
        "<Part><ETag>&quot;" MD5 "&quot;</ETag><PartNumber>1</PartNumber>"
        "<ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>"
        "<Part><PartNumber>2</PartNumber><ETag> \"" MD5 "\" </ETag><Other>x</Other></Part>"
        "<Part><PartNumber>20000</PartNumber><ETag>" MD5 "</ETag>"
        "<ChecksumSHA256>" SHA256_B64 "</ChecksumSHA256></Part>"
        "</CompleteMultipartUpload>";
    assert_int_equal(parse(ok, &l), S3E_NONE);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.v[0].number, 1);
    assert_string_equal(l.v[0].etag, MD5);
    assert_string_equal(l.v[0].checksum, "CRC32:AAAAAA==");
    assert_int_equal(l.v[1].number, 2);
    assert_string_equal(l.v[1].etag, MD5);
    assert_string_equal(l.v[1].checksum, "");
    assert_int_equal(l.v[2].number, META_PART_MAX + 1); /* past the range: InvalidPart later */
    assert_string_equal(l.v[2].checksum, "SHA256:" SHA256_B64);
    s3_complete_list_free(&l);
}

static void test_malformed_bodies(void **state)
{
    expect("", S3E_MALFORMED_XML);
    expect("<CompleteMultipartUpload/>", S3E_MALFORMED_XML); /* no part */
    expect("<Nope><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></Nope>", S3E_MALFORMED_XML);
    expect("<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>",
           S3E_MALFORMED_XML); /* no number */
    expect("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
           "</CompleteMultipartUpload>",
           S3E_MALFORMED_XML); /* no ETag */
    expect("<CompleteMultipartUpload><Part><PartNumber>99999999999</PartNumber><ETag>x</ETag>"
           "</Part></CompleteMultipartUpload>",
           S3E_MALFORMED_XML); /* past UINT32_MAX */
    expect("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>",
           S3E_MALFORMED_XML); /* unclosed */
    expect("<!DOCTYPE x [<!ENTITY a \"b\">]><CompleteMultipartUpload><Part><PartNumber>1"
           "</PartNumber><ETag>&a;</ETag></Part></CompleteMultipartUpload>",
           S3E_MALFORMED_XML);
    /* a field outside any <Part> names no part */
    expect("<CompleteMultipartUpload><Foo><PartNumber>1</PartNumber><ETag>x</ETag></Foo>"
           "</CompleteMultipartUpload>",
           S3E_MALFORMED_XML);
    /* well-formedness wins over content errors */
    expect("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag>"
           "<ChecksumCRC32>bad</ChecksumCRC32></Part>",
           S3E_MALFORMED_XML);
}

static void test_bad_checksums_are_invalid_part(void **state)
{
    expect("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag>"
           "<ChecksumCRC32>bad</ChecksumCRC32></Part></CompleteMultipartUpload>",
           S3E_INVALID_PART);
    expect("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag>"
           "<ChecksumCRC32>AAAAAA==</ChecksumCRC32><ChecksumCRC32C>AAAAAA==</ChecksumCRC32C>"
           "</Part></CompleteMultipartUpload>",
           S3E_INVALID_PART); /* two checksums */
}

/* The largest body a client can send: 10,000 parts, pretty-printed, each
 * with the longest checksum, ETags quoted as &quot;. It fits the cap. */
static void build_max(orc_buf *b, size_t parts, const char *ck_open, const char *ck,
                      const char *ck_close)
{
    orc_buf_init(b, 0);
    orc_buf_puts(b,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUpload "
                 "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n",
                 NULL);
    for (size_t i = 1; i <= parts; i++)
        orc_buf_printf(b, NULL,
                       "    <Part>\n        <ETag>&quot;" MD5 "-10000&quot;</ETag>\n"
                       "        <PartNumber>%zu</PartNumber>\n        %s%s%s\n    </Part>\n",
                       i, ck_open, ck, ck_close);
    orc_buf_puts(b, "</CompleteMultipartUpload>\n", NULL);
}

static void test_ten_thousand_parts_with_any_checksum_fit(void **state)
{
    static const char *const cks[][3] = {
        {"<ChecksumCRC32>", "AAAAAA==", "</ChecksumCRC32>"},
        {"<ChecksumCRC32C>", "AAAAAA==", "</ChecksumCRC32C>"},
        {"<ChecksumCRC64NVME>", "AAAAAAAAAAA=", "</ChecksumCRC64NVME>"},
        {"<ChecksumSHA1>", "2jmj7l5rSw0yVb/vlWAYkK/YBwk=", "</ChecksumSHA1>"},
        {"<ChecksumSHA256>", SHA256_B64, "</ChecksumSHA256>"},
    };
    for (size_t k = 0; k < sizeof(cks) / sizeof(cks[0]); k++) {
        orc_buf b;
        s3_complete_list l;
        build_max(&b, META_PART_MAX, cks[k][0], cks[k][1], cks[k][2]);
        assert_true(b.len <= S3_COMPLETE_MAX_BODY);
        assert_true(b.len > (1u << 20)); /* what the old 1 MiB cap refused */
        assert_int_equal(s3_complete_parse((const char *)b.ptr, b.len, &l), S3E_NONE);
        assert_int_equal(l.n, META_PART_MAX);
        assert_int_equal(l.v[META_PART_MAX - 1].number, META_PART_MAX);
        s3_complete_list_free(&l);
        orc_buf_dispose(&b);
    }
}

static void test_more_than_ten_thousand_parts_is_malformed(void **state)
{
    orc_buf b;
    s3_complete_list l;
    build_max(&b, META_PART_MAX + 1, "", "", "");
    assert_int_equal(s3_complete_parse((const char *)b.ptr, b.len, &l), S3E_MALFORMED_XML);
    s3_complete_list_free(&l);
    orc_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parts_numbers_etags_and_checksums),
        cmocka_unit_test(test_malformed_bodies),
        cmocka_unit_test(test_bad_checksums_are_invalid_part),
        cmocka_unit_test(test_ten_thousand_parts_with_any_checksum_fit),
        cmocka_unit_test(test_more_than_ten_thousand_parts_is_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
