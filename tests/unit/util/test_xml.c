/* The streaming XML reader (util/xml.c) that the tree parser, the S3 front
 * and the providers share: local names, text in pieces, a handler's result
 * stopping the parse, and the refusals every user of it relies on. The tree
 * built on it is tested in tests/unit/s3/test_xml.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/xml.h"

typedef struct trace {
    char log[512];
    int stop_on_start; /* 1-based start event that returns 77; 0: never */
    int starts, calls_after_stop;
    int stopped;
} trace;

static void add(trace *t, const char *fmt, const char *s, size_t n)
{
    size_t len = strlen(t->log);
    snprintf(t->log + len, sizeof(t->log) - len, fmt, (int)n, s);
}

static int on_start(xml_reader *r, const char *name, const char **attrs)
{
    trace *t = xml_reader_ctx(r);
    if (t->stopped) t->calls_after_stop++;
    add(t, "<%.*s", name, strlen(name));
    for (size_t i = 0; attrs[i]; i += 2)
        add(t, " %.*s", attrs[i], strlen(attrs[i]));
    add(t, "%.*s>", "", 0);
    if (++t->starts == t->stop_on_start) {
        t->stopped = 1;
        return 77;
    }
    return 0;
}

static int on_end(xml_reader *r, const char *name)
{
    trace *t = xml_reader_ctx(r);
    if (t->stopped) t->calls_after_stop++;
    add(t, "</%.*s>", name, strlen(name));
    return 0;
}

static int on_text(xml_reader *r, const char *s, size_t n)
{
    trace *t = xml_reader_ctx(r);
    if (t->stopped) t->calls_after_stop++;
    add(t, "%.*s", s, n);
    return 0;
}

static const xml_handlers all = {.start = on_start, .end = on_end, .text = on_text};

static int read_doc(const char *doc, trace *t, orc_err *e)
{
    return xml_read(doc, strlen(doc), &all, t, e);
}

static void test_names_are_local_and_text_is_decoded(void **state)
{
    trace t = {0};
    orc_err e = {0};
    const char *doc = "<?xml version=\"1.0\"?><a:R xmlns:a=\"urn:x\" xmlns=\"urn:y\" k=\"v\">"
                      "<B>x&amp;y&#x41;</B><a:C/></a:R>";
    assert_int_equal(read_doc(doc, &t, &e), 0);
    assert_string_equal(t.log, "<R k><B>x&yA</B><C></C></R>");
}

static void test_handler_result_stops_and_is_returned(void **state)
{
    trace t = {.stop_on_start = 2};
    orc_err e = {0};
    assert_int_equal(read_doc("<a><b>text</b><c/></a>", &t, &e), 77);
    assert_int_equal(t.starts, 2);
    assert_int_equal(t.calls_after_stop, 0);
    /* A stop wins over a syntax error later in the input. */
    trace u = {.stop_on_start = 1};
    assert_int_equal(read_doc("<a><<<", &u, &e), 77);
}

static void test_dtd_and_entities_are_refused(void **state)
{
    static const char *const docs[] = {
        "<!DOCTYPE a><a/>",
        "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
        "<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        trace t = {0};
        orc_err e = {0};
        assert_int_equal(read_doc(docs[i], &t, &e), ORC_EINVAL);
        assert_int_equal(e.code, ORC_EINVAL);
        assert_non_null(strstr(e.msg, "not allowed"));
        assert_int_equal(t.starts, 0);
    }
}

static void test_bad_and_empty_input_is_einval_with_location(void **state)
{
    trace t = {0};
    orc_err e = {0};
    assert_int_equal(read_doc("<a>\n<b></a>", &t, &e), ORC_EINVAL);
    assert_non_null(strstr(e.msg, "malformed XML at line 2"));
    assert_int_equal(xml_read(NULL, 0, &all, &t, &e), ORC_EINVAL);
    assert_int_equal(xml_read("", 0, &all, &t, &e), ORC_EINVAL);
    /* An unbound namespace prefix is not well-formed with namespaces on. */
    assert_int_equal(read_doc("<p:a/>", &t, &e), ORC_EINVAL);
}

static void test_absent_handlers_are_skipped(void **state)
{
    static const xml_handlers none = {0};
    orc_err e = {0};
    assert_int_equal(xml_read("<a>t<b/></a>", 12, &none, NULL, &e), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_are_local_and_text_is_decoded),
        cmocka_unit_test(test_handler_result_stops_and_is_returned),
        cmocka_unit_test(test_dtd_and_entities_are_refused),
        cmocka_unit_test(test_bad_and_empty_input_is_einval_with_location),
        cmocka_unit_test(test_absent_handlers_are_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
