/* The bounded queue's non-blocking pop: an empty queue registers a waiter
 * that the next push (or close) calls exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/queue.h"

static int woken;

static void wake(void *arg)
{
    woken += *(int *)arg;
}

static void test_try_pop_takes_what_is_there(void **state)
{
    orc_queue q;
    int a = 1, one = 1;
    orc_queue_init(&q, 2);
    assert_true(orc_queue_push(&q, &a));
    assert_ptr_equal(orc_queue_try_pop(&q, wake, &one), &a);
    woken = 0;
    assert_true(orc_queue_push(&q, &a)); /* no waiter was registered */
    assert_int_equal(woken, 0);
    orc_queue_dispose(&q);
}

static void test_empty_try_pop_is_woken_once_by_the_next_push(void **state)
{
    orc_queue q;
    int a = 1, one = 1;
    orc_queue_init(&q, 2);
    woken = 0;
    assert_null(orc_queue_try_pop(&q, wake, &one));
    assert_int_equal(woken, 0);
    assert_true(orc_queue_push(&q, &a));
    assert_int_equal(woken, 1);
    assert_ptr_equal(orc_queue_pop(&q), &a);
    assert_true(orc_queue_push(&q, &a)); /* the waiter was used up */
    assert_int_equal(woken, 1);
    orc_queue_dispose(&q);
}

static void test_close_wakes_a_waiter(void **state)
{
    orc_queue q;
    int one = 1;
    orc_queue_init(&q, 1);
    woken = 0;
    assert_null(orc_queue_try_pop(&q, wake, &one));
    orc_queue_close(&q);
    assert_int_equal(woken, 1);
    assert_null(orc_queue_try_pop(&q, wake, &one)); /* closed: no new waiter */
    orc_queue_dispose(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_try_pop_takes_what_is_there),
        cmocka_unit_test(test_empty_try_pop_is_woken_once_by_the_next_push),
        cmocka_unit_test(test_close_wakes_a_waiter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
