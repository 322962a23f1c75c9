/* The XML writer's escaping and the bounded expat reader: S3 request bodies,
 * malformed and hostile input, and write-then-parse round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "s3/xml.h"
#include "util/err.h"

#define S3_NS "http://s3.amazonaws.com/doc/2006-03-01/"

static xml_node *parse_ok(const char *doc, size_t max_nodes)
{
    xml_node *root = NULL;
    orc_err e = {0};
    int rc = xml_parse(doc, strlen(doc), max_nodes, &root, &e);
    if (rc) fail_msg("parse failed (%d): %s", rc, e.msg);
    assert_non_null(root);
    return root;
}

static void expect_malformed(const char *doc, size_t len, size_t max_nodes)
{
    xml_node *root = (xml_node *)0x1;
    orc_err e = {0};
    int rc = xml_parse(doc, len, max_nodes, &root, &e);
    if (rc != ORC_EINVAL) fail_msg("want EINVAL, got %d for: %.80s", rc, doc ? doc : "(null)");
    assert_int_equal(e.code, ORC_EINVAL);
    assert_true(e.msg[0] != '\0');
    assert_null(root);
}

static char *text_of(orc_buf *b)
{
    return b->ptr ? (char *)b->ptr : "";
}

/* ---- out ---- */

static void test_decl_is_utf8_declaration_line(void **state)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    assert_int_equal(xml_decl(&b, NULL), 0);
    assert_string_equal(text_of(&b), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    orc_buf_dispose(&b);
}

static void test_open_close_and_attrs(void **state)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    assert_int_equal(xml_open(&b, "ListBucketResult", "xmlns=\"" S3_NS "\"", NULL), 0);
    assert_int_equal(xml_open(&b, "Contents", NULL, NULL), 0);
    assert_int_equal(xml_elem(&b, "Key", "a/b", NULL), 0);
    assert_int_equal(xml_elem(&b, "Empty", NULL, NULL), 0);
    assert_int_equal(xml_close(&b, "Contents", NULL), 0);
    assert_int_equal(xml_close(&b, "ListBucketResult", NULL), 0);
    assert_string_equal(text_of(&b), "<ListBucketResult xmlns=\"" S3_NS "\"><Contents>"
                                     "<Key>a/b</Key><Empty></Empty></Contents>"
                                     "</ListBucketResult>");
    orc_buf_dispose(&b);
}

static void test_text_escapes_markup_characters(void **state)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    const char *s = "a&b<c>d\"e'f";
    assert_int_equal(xml_text(&b, s, strlen(s), NULL), 0);
    assert_string_equal(text_of(&b), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    orc_buf_dispose(&b);
}

static void test_text_escapes_control_characters_as_numeric_references(void **state)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    const char s[] = "a\x01"
                     "b\x1f\t\n\r\x7f"
                     "c";
    assert_int_equal(xml_text(&b, s, sizeof(s) - 1, NULL), 0);
    assert_string_equal(text_of(&b), "a&#x1;b&#x1F;\t\n&#xD;&#x7F;c");
    orc_buf_dispose(&b);
}

static void test_text_never_emits_raw_control_bytes(void **state)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    assert_int_equal(xml_text(&b, all, sizeof(all), NULL), 0);
    for (size_t i = 0; i < b.len; i++) {
        unsigned char c = b.ptr[i];
        if (c < 0x20 && c != '\t' && c != '\n') fail_msg("raw control byte 0x%02x at %zu", c, i);
        if (c == 0x7f) fail_msg("raw DEL at %zu", i);
    }
    assert_non_null(strstr(text_of(&b), "&#x0;"));
    orc_buf_dispose(&b);
}

static void test_text_escapes_utf8_noncharacters_fffe_ffff(void **state)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    const char s[] = "x\xef\xbf\xbey\xef\xbf\xbfz\xef\xbf\xbd";
    assert_int_equal(xml_text(&b, s, sizeof(s) - 1, NULL), 0);
    assert_string_equal(text_of(&b), "x&#xFFFE;y&#xFFFF;z\xef\xbf\xbd");
    orc_buf_dispose(&b);
}

static void test_text_passes_invalid_utf8_bytes_through(void **state)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    const char s[] = "\xff\xc3\xef\xbf";
    assert_int_equal(xml_text(&b, s, sizeof(s) - 1, NULL), 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.ptr, s, 4);
    orc_buf_dispose(&b);
}

static void test_text_with_embedded_nul_uses_length(void **state)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    assert_int_equal(xml_text(&b, "a\0b", 3, NULL), 0);
    assert_string_equal(text_of(&b), "a&#x0;b");
    orc_buf_dispose(&b);
}

static void test_elemf_formats_then_escapes(void **state)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    assert_int_equal(xml_elemf(&b, NULL, "Size", "%d", 42), 0);
    assert_int_equal(xml_elemf(&b, NULL, "ETag", "\"%s\"", "abc"), 0);
    assert_int_equal(xml_elemf(&b, NULL, "M", "%s&%s", "<a>", "b"), 0);
    assert_string_equal(text_of(&b),
                        "<Size>42</Size><ETag>&quot;abc&quot;</ETag><M>&lt;a&gt;&amp;b</M>");
    orc_buf_dispose(&b);
}

static void test_elemf_handles_long_text(void **state)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    char big[1000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(xml_elemf(&b, NULL, "K", "%s&", big), 0);
    assert_int_equal(b.len, 3 + 999 + 5 + 4);
    assert_memory_equal(b.ptr + 3, big, 999);
    assert_string_equal(text_of(&b) + 3 + 999, "&amp;</K>");
    orc_buf_dispose(&b);
}

static void test_writer_failure_leaves_buffer_unchanged(void **state)
{
    orc_buf b;
    orc_buf_init(&b, 16);
    orc_err e = {0};
    assert_int_equal(xml_elem(&b, "A", "1", &e), 0);
    assert_int_equal(xml_elem(&b, "Key", "&&&&", &e), ORC_ENOSPC);
    assert_int_equal(e.code, ORC_ENOSPC);
    assert_string_equal(text_of(&b), "<A>1</A>");
    assert_int_equal(xml_text(&b, "&&&&&&", 6, &e), ORC_ENOSPC);
    assert_string_equal(text_of(&b), "<A>1</A>");
    orc_buf_dispose(&b);
}

/* ---- in ---- */

static void test_parses_create_bucket_configuration_with_s3_namespace(void **state)
{
    xml_node *root = parse_ok("<CreateBucketConfiguration xmlns=\"" S3_NS "\">"
                              "<LocationConstraint>eu-west-1</LocationConstraint>"
                              "</CreateBucketConfiguration>",
                              0);
    assert_string_equal(root->name, "CreateBucketConfiguration");
    assert_null(root->parent);
    xml_node *loc = xml_child(root, "LocationConstraint");
    assert_non_null(loc);
    assert_string_equal(loc->text, "eu-west-1");
    assert_int_equal(loc->text_len, 9);
    assert_ptr_equal(loc->parent, root);
    xml_free(root);
}

static void test_parses_create_bucket_configuration_without_namespace(void **state)
{
    xml_node *root = parse_ok("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                              "<CreateBucketConfiguration>\n"
                              "  <LocationConstraint>eu-west-1</LocationConstraint>\n"
                              "</CreateBucketConfiguration>\n",
                              0);
    assert_string_equal(root->name, "CreateBucketConfiguration");
    assert_string_equal(xml_child(root, "LocationConstraint")->text, "eu-west-1");
    xml_free(root);
}

static void test_prefixed_namespace_names_are_local(void **state)
{
    xml_node *root = parse_ok("<s3:Delete xmlns:s3=\"" S3_NS "\"><s3:Quiet>true</s3:Quiet>"
                              "</s3:Delete>",
                              0);
    assert_string_equal(root->name, "Delete");
    assert_string_equal(xml_child(root, "Quiet")->text, "true");
    xml_free(root);
}

static void test_parses_delete_with_three_objects(void **state)
{
    xml_node *root = parse_ok("<Delete xmlns=\"" S3_NS "\">\n"
                              "  <Quiet>false</Quiet>\n"
                              "  <Object><Key>a&amp;b</Key></Object>\n"
                              "  <Object><Key>caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac</Key>"
                              "<VersionId>v1</VersionId></Object>\n"
                              "  <Object><Key>&lt;x&gt; &#x41;&#66;</Key></Object>\n"
                              "</Delete>",
                              0);
    const char *want[] = {"a&b", "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", "<x> AB"};
    size_t count = 0;
    for (xml_node *o = xml_child(root, "Object"); o; o = xml_next_named(o, "Object")) {
        assert_true(count < 3);
        xml_node *k = xml_child(o, "Key");
        assert_non_null(k);
        assert_string_equal(k->text, want[count]);
        assert_int_equal(k->text_len, strlen(want[count]));
        count++;
    }
    assert_int_equal(count, 3);
    assert_string_equal(xml_child(root, "Quiet")->text, "false");
    xml_node *second = xml_next_named(xml_child(root, "Object"), "Object");
    assert_string_equal(xml_child(second, "VersionId")->text, "v1");
    assert_null(xml_child(root, "Missing"));
    xml_free(root);
}

static void test_mixed_content_text_is_concatenated(void **state)
{
    xml_node *root = parse_ok("<a>x<b>y</b>z<![CDATA[<&>]]></a>", 0);
    assert_string_equal(root->text, "xz<&>");
    assert_string_equal(root->child->text, "y");
    assert_string_equal(root->child->name, "b");
    assert_null(root->child->next);
    assert_null(root->child->child);
    xml_free(root);
}

static void test_empty_element_has_empty_text(void **state)
{
    xml_node *root = parse_ok("<a><b/><c></c></a>", 0);
    assert_string_equal(xml_child(root, "b")->text, "");
    assert_int_equal(xml_child(root, "c")->text_len, 0);
    xml_free(root);
}

static void test_child_lookups_accept_null(void **state)
{
    assert_null(xml_child(NULL, "x"));
    assert_null(xml_next_named(NULL, "x"));
    xml_free(NULL);
}

static void test_empty_input_is_malformed(void **state)
{
    expect_malformed("", 0, 0);
    expect_malformed(NULL, 0, 0);
    expect_malformed("   ", 3, 0);
}

static void test_malformed_xml_is_rejected(void **state)
{
    static const char *bad[] = {
        "<a>",         "<a></b>",          "<a><b></a></b>", "<a/><b/>",
        "text",        "<a>&unknown;</a>", "<a>&#x1;</a>",   "<a x='1' x='2'/>",
        "<a>\xff</a>", "<p:a/>",           "</a>",           "<a><!-- unterminated </a>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_malformed(bad[i], strlen(bad[i]), 0);
}

static void test_truncated_document_is_rejected(void **state)
{
    const char *doc = "<Delete><Object><Key>k</Key></Object></Delete>";
    for (size_t n = 1; n < strlen(doc); n++)
        expect_malformed(doc, n, 0);
}

static char *nested(size_t depth)
{
    char *s = test_malloc(depth * 7 + 1);
    char *p = s;
    for (size_t i = 0; i < depth; i++)
        p += sprintf(p, "<a>");
    for (size_t i = 0; i < depth; i++)
        p += sprintf(p, "</a>");
    return s;
}

static void test_depth_limit_is_enforced(void **state)
{
    char *ok = nested(XML_MAX_DEPTH);
    xml_node *root = parse_ok(ok, 0);
    size_t d = 1;
    for (xml_node *n = root; n->child; n = n->child)
        d++;
    assert_int_equal(d, XML_MAX_DEPTH);
    xml_free(root);
    test_free(ok);

    char *deep = nested(XML_MAX_DEPTH + 1);
    expect_malformed(deep, strlen(deep), 0);
    test_free(deep);
}

static char *flat(size_t children)
{
    char *s = test_malloc(children * 4 + 16);
    char *p = s + sprintf(s, "<r>");
    for (size_t i = 0; i < children; i++)
        p += sprintf(p, "<a/>");
    sprintf(p, "</r>");
    return s;
}

static void test_node_limit_is_enforced(void **state)
{
    char *doc = flat(4); /* 5 elements with the root */
    xml_node *root = parse_ok(doc, 5);
    xml_free(root);
    expect_malformed(doc, strlen(doc), 4);
    test_free(doc);
}

static void test_zero_max_nodes_means_default_limit(void **state)
{
    char *doc = flat(XML_MAX_NODES - 1);
    xml_node *root = parse_ok(doc, 0);
    size_t n = 0;
    for (xml_node *c = root->child; c; c = c->next)
        n++;
    assert_int_equal(n, XML_MAX_NODES - 1);
    xml_free(root);
    test_free(doc);

    doc = flat(XML_MAX_NODES);
    expect_malformed(doc, strlen(doc), 0);
    test_free(doc);
}

static void test_billion_laughs_doctype_is_rejected(void **state)
{
    const char *doc = "<?xml version=\"1.0\"?>\n"
                      "<!DOCTYPE lolz [\n"
                      " <!ENTITY lol \"lol\">\n"
                      " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
                      " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
                      " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
                      "]>\n"
                      "<Delete><Object><Key>&lol3;</Key></Object></Delete>";
    expect_malformed(doc, strlen(doc), 0);
    orc_err e = {0};
    xml_node *root = NULL;
    xml_parse(doc, strlen(doc), 0, &root, &e);
    assert_non_null(strstr(e.msg, "DOCTYPE"));
}

static void test_any_doctype_is_rejected(void **state)
{
    const char *plain = "<!DOCTYPE a><a/>";
    expect_malformed(plain, strlen(plain), 0);
    const char *xxe = "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>";
    expect_malformed(xxe, strlen(xxe), 0);
    const char *ext = "<!DOCTYPE a SYSTEM \"http://example.com/a.dtd\"><a/>";
    expect_malformed(ext, strlen(ext), 0);
}

static void round_trip(const char *s, size_t n)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    assert_int_equal(xml_open(&b, "Key", NULL, NULL), 0);
    assert_int_equal(xml_text(&b, s, n, NULL), 0);
    assert_int_equal(xml_close(&b, "Key", NULL), 0);
    xml_node *root = NULL;
    orc_err e = {0};
    int rc = xml_parse((const char *)b.ptr, b.len, 0, &root, &e);
    if (rc) fail_msg("reparse of %s failed: %s", text_of(&b), e.msg);
    assert_int_equal(root->text_len, n);
    assert_memory_equal(root->text, s, n);
    xml_free(root);
    orc_buf_dispose(&b);
}

static void test_escaping_round_trips_through_parser(void **state)
{
    const char *cases[] = {
        "plain",
        "a&b<c>d\"e'f",
        "&amp; already escaped &lt;",
        "]]> cdata end",
        "tab\tnewline\ncr\r crlf\r\n",
        "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
        "  leading and trailing spaces  ",
        "",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        round_trip(cases[i], strlen(cases[i]));
}

static void test_control_character_references_are_refused_by_strict_parser(void **state)
{
    /* The writer's &#x1; is for lenient clients; expat (strict XML 1.0) refuses
     * it, so such keys cannot come back in a request body. */
    orc_buf b;
    orc_buf_init(&b, 0);
    assert_int_equal(xml_elem(&b, "Key", "a\x01z", NULL), 0);
    assert_string_equal(text_of(&b), "<Key>a&#x1;z</Key>");
    expect_malformed(text_of(&b), b.len, 0);
    orc_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decl_is_utf8_declaration_line),
        cmocka_unit_test(test_open_close_and_attrs),
        cmocka_unit_test(test_text_escapes_markup_characters),
        cmocka_unit_test(test_text_escapes_control_characters_as_numeric_references),
        cmocka_unit_test(test_text_never_emits_raw_control_bytes),
        cmocka_unit_test(test_text_escapes_utf8_noncharacters_fffe_ffff),
        cmocka_unit_test(test_text_passes_invalid_utf8_bytes_through),
        cmocka_unit_test(test_text_with_embedded_nul_uses_length),
        cmocka_unit_test(test_elemf_formats_then_escapes),
        cmocka_unit_test(test_elemf_handles_long_text),
        cmocka_unit_test(test_writer_failure_leaves_buffer_unchanged),
        cmocka_unit_test(test_parses_create_bucket_configuration_with_s3_namespace),
        cmocka_unit_test(test_parses_create_bucket_configuration_without_namespace),
        cmocka_unit_test(test_prefixed_namespace_names_are_local),
        cmocka_unit_test(test_parses_delete_with_three_objects),
        cmocka_unit_test(test_mixed_content_text_is_concatenated),
        cmocka_unit_test(test_empty_element_has_empty_text),
        cmocka_unit_test(test_child_lookups_accept_null),
        cmocka_unit_test(test_empty_input_is_malformed),
        cmocka_unit_test(test_malformed_xml_is_rejected),
        cmocka_unit_test(test_truncated_document_is_rejected),
        cmocka_unit_test(test_depth_limit_is_enforced),
        cmocka_unit_test(test_node_limit_is_enforced),
        cmocka_unit_test(test_zero_max_nodes_means_default_limit),
        cmocka_unit_test(test_billion_laughs_doctype_is_rejected),
        cmocka_unit_test(test_any_doctype_is_rejected),
        cmocka_unit_test(test_escaping_round_trips_through_parser),
        cmocka_unit_test(test_control_character_references_are_refused_by_strict_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
