/* Tag sets: the x-amz-tagging header form, the <Tagging> document, S3's
 * limits (counted in characters, not bytes), the canonical stored text and
 * reading it back from stored headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "s3/tagging.h"

static enum s3_error parse(const char *s, s3_tagset *t)
{
    const char *why = NULL;
    enum s3_error err = s3_tags_parse(s, strlen(s), t, &why);
    if (err) assert_non_null(why);
    return err;
}

static void expect_tag(const s3_tagset *t, size_t i, const char *k, const char *v)
{
    if (i >= t->n) fail_msg("tag %zu: only %zu tags", i, t->n);
    assert_string_equal(t->tags[i].key, k);
    assert_string_equal(t->tags[i].value, v);
}

/* The canonical text of s. */
static void expect_encoding(const char *s, const char *want)
{
    s3_tagset t;
    orc_buf b;
    assert_int_equal(parse(s, &t), S3E_NONE);
    orc_buf_init(&b, 0);
    orc_buf_append(&b, "", 0, NULL);
    assert_int_equal(s3_tags_encode(&t, &b, NULL), 0);
    assert_string_equal((const char *)b.ptr, want);
    /* the canonical text parses to the same set */
    s3_tagset again;
    assert_int_equal(parse((const char *)b.ptr, &again), S3E_NONE);
    assert_int_equal(again.n, t.n);
    for (size_t i = 0; i < t.n; i++)
        expect_tag(&again, i, t.tags[i].key, t.tags[i].value);
    s3_tags_dispose(&again);
    s3_tags_dispose(&t);
    orc_buf_dispose(&b);
}

static void test_header_form_decodes_escapes_plus_and_empty_values(void **state)
{
    (void)state;
    s3_tagset t;
    assert_int_equal(parse("a=1&b+c=d%20e&empty=&bare&%C3%BC=%E2%82%AC", &t), S3E_NONE);
    assert_int_equal(t.n, 5);
    expect_tag(&t, 0, "a", "1");
    expect_tag(&t, 1, "b c", "d e");
    expect_tag(&t, 2, "empty", "");
    expect_tag(&t, 3, "bare", "");
    expect_tag(&t, 4, "\xc3\xbc", "\xe2\x82\xac");
    s3_tags_dispose(&t);
    assert_int_equal(parse("", &t), S3E_NONE);
    assert_int_equal(t.n, 0);
    assert_int_equal(parse("&&x=1&", &t), S3E_NONE); /* empty pairs say nothing */
    assert_int_equal(t.n, 1);
    s3_tags_dispose(&t);
}

static void test_s3_limits_are_enforced(void **state)
{
    (void)state;
    s3_tagset t;
    char buf[4096];
    /* ten tags pass, eleven do not */
    buf[0] = 0;
    for (int i = 0; i < 10; i++)
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%sk%d=v", i ? "&" : "", i);
    assert_int_equal(parse(buf, &t), S3E_NONE);
    assert_int_equal(t.n, 10);
    s3_tags_dispose(&t);
    strcat(buf, "&k10=v");
    assert_int_equal(parse(buf, &t), S3E_INVALID_TAG);
    assert_int_equal(t.n, 0);

    assert_int_equal(parse("d=1&d=2", &t), S3E_INVALID_TAG);
    assert_int_equal(parse("=v", &t), S3E_INVALID_TAG);
    assert_int_equal(parse("aws:x=1", &t), S3E_INVALID_TAG);
    assert_int_equal(parse("k=%00", &t), S3E_INVALID_TAG);
    assert_int_equal(parse("k=%0A", &t), S3E_INVALID_TAG);
    assert_int_equal(parse("k=a%22b", &t), S3E_INVALID_TAG);     /* '"' is no tag character */
    assert_int_equal(parse("k=%FF", &t), S3E_INVALID_TAG);       /* not UTF-8 */
    assert_int_equal(parse("k=%C0%80", &t), S3E_INVALID_TAG);    /* overlong NUL */
    assert_int_equal(parse("k=%ED%A0%80", &t), S3E_INVALID_TAG); /* a surrogate */
    assert_int_equal(parse("k=%zz", &t), S3E_INVALID_ARGUMENT);

    /* 128 key and 256 value characters, in two- and three-byte UTF-8 */
    size_t n = 0;
    for (int i = 0; i < 128; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%%E2%%82%%AC");
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "=");
    for (int i = 0; i < 256; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%%C3%%BC");
    char big[8192];
    snprintf(big, sizeof(big), "%s", buf);
    assert_int_equal(parse(big, &t), S3E_NONE);
    assert_int_equal(strlen(t.tags[0].key), 3 * 128);
    assert_int_equal(strlen(t.tags[0].value), 2 * 256);
    s3_tags_dispose(&t);
    snprintf(big, sizeof(big), "%s%%C3%%BC", buf); /* 257 value characters */
    assert_int_equal(parse(big, &t), S3E_INVALID_TAG);
    snprintf(big, sizeof(big), "x%s", buf); /* 129 key characters */
    assert_int_equal(parse(big, &t), S3E_INVALID_TAG);
}

static void test_canonical_text_is_aws_percent_encoding(void **state)
{
    (void)state;
    expect_encoding("a=1", "a=1");
    expect_encoding("b+c=d%20e&x=a%2Fb%3Ac%40d%2Be%3Df", "b%20c=d%20e&x=a%2Fb%3Ac%40d%2Be%3Df");
    expect_encoding("%C3%BC=", "%C3%BC=");
    expect_encoding("k-_.=v", "k-_.=v");
    expect_encoding("", "");
}

static s3_tagset from_xml(const char *doc, enum s3_error want)
{
    xml_node *root = NULL;
    s3_tagset t = {0};
    const char *why = NULL;
    assert_int_equal(xml_parse(doc, strlen(doc), 200, &root, NULL), 0);
    assert_int_equal(s3_tags_from_xml(root, &t, &why), want);
    xml_free(root);
    return t;
}

static void test_tagging_document(void **state)
{
    (void)state;
    s3_tagset t = from_xml("<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>"
                           "<Tag><Key>k 1</Key><Value>v&#252;1</Value></Tag>"
                           "<Tag><Key>k2</Key><Value/></Tag></TagSet></Tagging>",
                           S3E_NONE);
    assert_int_equal(t.n, 2);
    expect_tag(&t, 0, "k 1",
               "v\xc3\xbc"
               "1");
    expect_tag(&t, 1, "k2", "");
    s3_tags_dispose(&t);
    t = from_xml("<Tagging><TagSet/></Tagging>", S3E_NONE);
    assert_int_equal(t.n, 0);

    from_xml("<Tagging/>", S3E_MALFORMED_XML);
    from_xml("<Other><TagSet/></Other>", S3E_MALFORMED_XML);
    from_xml("<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>", S3E_MALFORMED_XML);
    from_xml("<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>", S3E_MALFORMED_XML);
    from_xml("<Tagging><TagSet><Other/></TagSet></Tagging>", S3E_MALFORMED_XML);
    from_xml("<Tagging><TagSet><Tag><Key>k</Key><Key>j</Key><Value/></Tag></TagSet></Tagging>",
             S3E_MALFORMED_XML);
    from_xml("<Tagging><TagSet><Tag><Key>k</Key><Value>1</Value></Tag>"
             "<Tag><Key>k</Key><Value>2</Value></Tag></TagSet></Tagging>",
             S3E_INVALID_TAG);
    from_xml("<Tagging><TagSet><Tag><Key></Key><Value>1</Value></Tag></TagSet></Tagging>",
             S3E_INVALID_TAG);
}

static void test_stored_line_lookup_and_count(void **state)
{
    (void)state;
    size_t len = 99;
    const char *hd = "x-amz-meta-a: 1\nx-amz-tagging: a=1&b=2&c=\ncache-control: no\n";
    const char *v = s3_tags_stored(hd, &len);
    assert_non_null(v);
    assert_int_equal(len, strlen("a=1&b=2&c="));
    assert_memory_equal(v, "a=1&b=2&c=", len);
    assert_int_equal(s3_tags_count(v, len), 3);
    assert_null(s3_tags_stored("x-amz-meta-x-amz-tagging: a=1\n", &len));
    assert_int_equal(len, 0);
    assert_null(s3_tags_stored(NULL, &len));
    assert_int_equal(s3_tags_count("", 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_form_decodes_escapes_plus_and_empty_values),
        cmocka_unit_test(test_s3_limits_are_enforced),
        cmocka_unit_test(test_canonical_text_is_aws_percent_encoding),
        cmocka_unit_test(test_tagging_document),
        cmocka_unit_test(test_stored_line_lookup_and_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
