/* Unit tests for the Azure List Blobs page parser (src/provider/azure_list.c):
 * which blobs are reported, the marker, and each refusal with its message, so
 * that moving the parser onto the util/ XML reader keeps what a user sees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provider/azure_list.h"

#define HEAD "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ContainerName=\"c\">"
#define BLOB(name, size)                                                                           \
    "<Blob><Name>" name "</Name><Properties><Content-Length>" size                                 \
    "</Content-Length></Properties></Blob>"

typedef struct seen {
    char names[8][64];
    uint64_t sizes[8];
    int n;
    int stop_at; /* 1-based call that returns 42; 0: never */
} seen;

static int on_chunk(void *ctx, const char *name, uint64_t size)
{
    seen *s = ctx;
    assert_true(s->n < 8);
    snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
    s->sizes[s->n++] = size;
    return s->n == s->stop_at ? 42 : 0;
}

static azure_list_page pg; /* large: the marker */

static int parse(const char *prefix, const char *doc, seen *s, orc_err *e)
{
    pg = (azure_list_page){.provider = "az", .prefix = prefix, .fn = on_chunk, .ctx = s};
    return azure_list_parse(&pg, doc, strlen(doc), e);
}

static void test_reports_chunks_under_prefix_and_keeps_marker(void **state)
{
    seen s = {0};
    orc_err e = {0};
    const char *doc = HEAD "<Prefix>p/</Prefix><Blobs>" BLOB("p/abc1", "10") BLOB("p/Not-Ours", "3")
        BLOB("q/abc2", "4")
            BLOB("p/ff", "18446744073709551615") "<BlobPrefix><Name>p/x/</Name>"
                                                 "</BlobPrefix></Blobs><NextMarker>2!80!MDAw</"
                                                 "NextMarker></EnumerationResults>";
    assert_int_equal(parse("p/", doc, &s, &e), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.names[0], "abc1");
    assert_true(s.sizes[0] == 10);
    assert_string_equal(s.names[1], "ff");
    assert_true(s.sizes[1] == UINT64_MAX);
    assert_string_equal(pg.marker, "2!80!MDAw");
}

static void test_encoded_and_entity_names(void **state)
{
    seen s = {0};
    orc_err e = {0};
    /* An Encoded name is not one of ours; a character reference is read. */
    const char *doc = HEAD "<Blobs><Blob><Name Encoded=\"true\">abc</Name><Properties>"
                           "<Content-Length>1</Content-Length></Properties></Blob>" BLOB(
                               "a&#x62;", "2") "</Blobs><NextMarker/></EnumerationResults>";
    assert_int_equal(parse("", doc, &s, &e), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.names[0], "ab");
    assert_string_equal(pg.marker, "");
}

static void test_callback_result_stops_the_walk(void **state)
{
    seen s = {.stop_at = 1};
    orc_err e = {0};
    const char *doc = HEAD "<Blobs>" BLOB("a", "1") BLOB("b", "2") "</Blobs></EnumerationResults>";
    assert_int_equal(parse("", doc, &s, &e), 42);
    assert_int_equal(s.n, 1);
}

static void test_refusals_say_what_is_wrong(void **state)
{
    static const struct {
        const char *doc, *want;
    } cases[] = {
        {HEAD "<Blobs><Blob><Name>abc</Name></Blob></Blobs></EnumerationResults>",
         "provider az: List Blobs gave no valid size for abc"},
        {HEAD "<Blobs>" BLOB("abc", "1x") "</Blobs></EnumerationResults>",
         "provider az: List Blobs gave no valid size for abc"},
        {HEAD "<Blobs>" BLOB("abc", "18446744073709551616") "</Blobs></EnumerationResults>",
         "provider az: List Blobs gave no valid size for abc"},
        {HEAD "<Blobs>" BLOB("abc", "1") "</Blobs>",
         "provider az: List Blobs reply is not valid XML"},
        {"", "provider az: List Blobs reply is not valid XML"},
        {"not xml", "provider az: List Blobs reply is not valid XML"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        seen s = {0};
        orc_err e = {0};
        assert_int_equal(parse("", cases[i].doc, &s, &e), ORC_EIO);
        assert_int_equal(e.code, ORC_EIO);
        if (strncmp(e.msg, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: got '%s', want '%s...'", i, e.msg, cases[i].want);
    }
}

/* The reader shared with the S3 front refuses DTDs, so a hostile endpoint
 * cannot make entities expand or point outside the reply. */
static void test_dtd_in_a_reply_is_refused(void **state)
{
    seen s = {0};
    orc_err e = {0};
    const char *doc = "<!DOCTYPE EnumerationResults [<!ENTITY n \"abc\">]><EnumerationResults>"
                      "<Blobs>" BLOB("&n;", "1") "</Blobs></EnumerationResults>";
    assert_int_equal(parse("", doc, &s, &e), ORC_EIO);
    assert_non_null(strstr(e.msg, "provider az: List Blobs reply is not valid XML"));
    assert_non_null(strstr(e.msg, "not allowed"));
    assert_int_equal(s.n, 0);
}

static void test_marker_over_limit_is_refused(void **state)
{
    size_t n = AZURE_MARKER_MAX + 1;
    char *doc = malloc(n + 200);
    int off = snprintf(doc, 200, "%s<NextMarker>", HEAD);
    memset(doc + off, 'm', n);
    strcpy(doc + off + n, "</NextMarker></EnumerationResults>");
    seen s = {0};
    orc_err e = {0};
    assert_int_equal(parse("", doc, &s, &e), ORC_EIO);
    assert_string_equal(e.msg, "provider az: List Blobs marker too long");
    assert_true(strlen(pg.marker) <= AZURE_MARKER_MAX);
    /* At the limit it is kept whole. */
    strcpy(doc + off + n - 1, "</NextMarker></EnumerationResults>");
    assert_int_equal(parse("", doc, &s, &e), 0);
    assert_int_equal(strlen(pg.marker), AZURE_MARKER_MAX);
    free(doc);
}

static void test_unknown_elements_and_other_roots_are_ignored(void **state)
{
    seen s = {0};
    orc_err e = {0};
    const char *doc = "<Other><Blobs>" BLOB("abc", "1") "</Blobs></Other>";
    assert_int_equal(parse("", doc, &s, &e), 0);
    assert_int_equal(s.n, 0);
    doc = HEAD "<Blobs><Wrap>" BLOB("abc", "1") "</Wrap>" BLOB("def", "2") "</Blobs>"
                                                                           "</EnumerationResults>";
    assert_int_equal(parse("", doc, &s, &e), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.names[0], "def");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reports_chunks_under_prefix_and_keeps_marker),
        cmocka_unit_test(test_encoded_and_entity_names),
        cmocka_unit_test(test_callback_result_stops_the_walk),
        cmocka_unit_test(test_refusals_say_what_is_wrong),
        cmocka_unit_test(test_dtd_in_a_reply_is_refused),
        cmocka_unit_test(test_marker_over_limit_is_refused),
        cmocka_unit_test(test_unknown_elements_and_other_roots_are_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
