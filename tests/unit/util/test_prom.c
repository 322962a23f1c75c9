/* util/prom.c: the exposition format's escaping (label values and help
 * text), sample lines, and histograms: inclusive bucket bounds, cumulative
 * buckets, the sum in seconds and a count equal to the +Inf bucket. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/prom.h"

static char *text(orc_buf *b)
{
    orc_buf_append(b, "", 0, NULL); /* NUL-terminated even when empty */
    return (char *)b->ptr;
}

static void test_label_values_escape_backslash_quote_and_newline(void **state)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    prom_label l[2] = {{"provider", "a\\b\"c\nd"}, {"operation", "put"}};
    prom_sample_u64(&b, "orchard_x_total", l, 2, 7);
    assert_string_equal(text(&b),
                        "orchard_x_total{provider=\"a\\\\b\\\"c\\nd\",operation=\"put\"} 7\n");
    orc_buf_dispose(&b);
}

static void test_help_escapes_backslash_and_newline_but_not_quotes(void **state)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    prom_family(&b, "orchard_y", "gauge", "say \"hi\"\\\nbye");
    assert_string_equal(text(&b),
                        "# HELP orchard_y say \"hi\"\\\\\\nbye\n# TYPE orchard_y gauge\n");
    orc_buf_dispose(&b);
}

static void test_a_sample_without_labels_has_no_braces(void **state)
{
    orc_buf b;
    orc_buf_init(&b, 0);
    prom_sample_u64(&b, "orchard_objects", NULL, 0, 18446744073709551615ull);
    prom_sample_f64(&b, "orchard_dedup_ratio", NULL, 0, 1.5);
    prom_sample_f64(&b, "orchard_r", NULL, 0, NAN);
    prom_sample_f64(&b, "orchard_r", NULL, 0, -INFINITY);
    assert_string_equal(text(&b), "orchard_objects 18446744073709551615\n"
                                  "orchard_dedup_ratio 1.5\n"
                                  "orchard_r NaN\n"
                                  "orchard_r -Inf\n");
    orc_buf_dispose(&b);
}

static void test_bucket_bounds_are_inclusive(void **state)
{
    prom_hist h;
    memset(&h, 0, sizeof(h));
    prom_hist_observe_us(&h, 1000); /* exactly 1 ms: le="0.001" */
    prom_hist_observe_us(&h, 1001); /* just above: le="0.0025" */
    prom_hist_observe_us(&h, 0);
    prom_hist_observe_us(&h, 10000000);   /* 10 s: the last finite bucket */
    prom_hist_observe_us(&h, 10000001);   /* +Inf */
    prom_hist_observe_us(&h, UINT32_MAX); /* +Inf */
    prom_hist_counts c;
    prom_hist_read(&h, &c);
    assert_int_equal(c.n[0], 2);
    assert_int_equal(c.n[1], 1);
    assert_int_equal(c.n[PROM_HIST_BOUNDS - 1], 1);
    assert_int_equal(c.n[PROM_HIST_BOUNDS], 2);
    assert_int_equal(prom_hist_count(&c), 6);
    assert_true(c.sum_us == 1000ull + 1001 + 10000000 + 10000001 + UINT32_MAX);
}

static void test_a_histogram_is_cumulative_with_sum_in_seconds(void **state)
{
    prom_hist h;
    memset(&h, 0, sizeof(h));
    prom_hist_observe_us(&h, 3000);    /* le 0.005 */
    prom_hist_observe_us(&h, 3000);    /* le 0.005 */
    prom_hist_observe_us(&h, 2000000); /* le 2.5 */
    prom_hist_counts c;
    prom_hist_read(&h, &c);
    orc_buf b;
    orc_buf_init(&b, 0);
    prom_label l = {"operation", "Get\"Object"};
    prom_histogram(&b, "orchard_d_seconds", &l, 1, &c);
    const char *want = "orchard_d_seconds_bucket{operation=\"Get\\\"Object\",le=\"0.001\"} 0\n"
                       "orchard_d_seconds_bucket{operation=\"Get\\\"Object\",le=\"0.0025\"} 0\n"
                       "orchard_d_seconds_bucket{operation=\"Get\\\"Object\",le=\"0.005\"} 2\n"
                       "orchard_d_seconds_bucket{operation=\"Get\\\"Object\",le=\"0.01\"} 2\n"
                       "orchard_d_seconds_bucket{operation=\"Get\\\"Object\",le=\"0.025\"} 2\n"
                       "orchard_d_seconds_bucket{operation=\"Get\\\"Object\",le=\"0.05\"} 2\n"
                       "orchard_d_seconds_bucket{operation=\"Get\\\"Object\",le=\"0.1\"} 2\n"
                       "orchard_d_seconds_bucket{operation=\"Get\\\"Object\",le=\"0.25\"} 2\n"
                       "orchard_d_seconds_bucket{operation=\"Get\\\"Object\",le=\"0.5\"} 2\n"
                       "orchard_d_seconds_bucket{operation=\"Get\\\"Object\",le=\"1\"} 2\n"
                       "orchard_d_seconds_bucket{operation=\"Get\\\"Object\",le=\"2.5\"} 3\n"
                       "orchard_d_seconds_bucket{operation=\"Get\\\"Object\",le=\"5\"} 3\n"
                       "orchard_d_seconds_bucket{operation=\"Get\\\"Object\",le=\"10\"} 3\n"
                       "orchard_d_seconds_bucket{operation=\"Get\\\"Object\",le=\"+Inf\"} 3\n"
                       "orchard_d_seconds_sum{operation=\"Get\\\"Object\"} 2.006000\n"
                       "orchard_d_seconds_count{operation=\"Get\\\"Object\"} 3\n";
    assert_string_equal(text(&b), want);
    orc_buf_dispose(&b);
}

static void test_an_empty_histogram_without_labels(void **state)
{
    prom_hist_counts c;
    memset(&c, 0, sizeof(c));
    orc_buf b;
    orc_buf_init(&b, 0);
    prom_histogram(&b, "orchard_e_seconds", NULL, 0, &c);
    const char *t = text(&b);
    assert_non_null(strstr(t, "orchard_e_seconds_bucket{le=\"+Inf\"} 0\n"));
    assert_non_null(strstr(t, "\norchard_e_seconds_sum 0.000000\norchard_e_seconds_count 0\n"));
    orc_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_label_values_escape_backslash_quote_and_newline),
        cmocka_unit_test(test_help_escapes_backslash_and_newline_but_not_quotes),
        cmocka_unit_test(test_a_sample_without_labels_has_no_braces),
        cmocka_unit_test(test_bucket_bounds_are_inclusive),
        cmocka_unit_test(test_a_histogram_is_cumulative_with_sum_in_seconds),
        cmocka_unit_test(test_an_empty_histogram_without_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
