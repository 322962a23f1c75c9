/* s3_error_for: the one mapping from a lower layer's (code, detail) to the S3
 * error a client sees. Sub-errors used to travel as message prefixes parsed
 * back with strcmp; these pin the code and status each one must come out as. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "s3/errors.h"
#include "util/err.h"

static void expect(int code, int detail, enum s3_error notfound, const char *s3code, int status)
{
    const struct s3_error_info *i = s3_error_get(s3_error_for(code, detail, notfound));
    if (strcmp(i->code, s3code) != 0 || i->status != status)
        fail_msg("%s detail %d: got %s %d, want %s %d", orc_code_name(code), detail, i->code,
                 i->status, s3code, status);
}

static void test_details_map_to_their_s3_errors(void **s)
{
    (void)s;
    expect(ORC_EINVAL, ORC_D_INCOMPLETE_BODY, S3E_NO_SUCH_BUCKET, "IncompleteBody", 400);
    expect(ORC_ECORRUPT, ORC_D_BAD_DIGEST, S3E_NO_SUCH_BUCKET, "BadDigest", 400);
    expect(ORC_ECORRUPT, ORC_D_SHA256_MISMATCH, S3E_NO_SUCH_BUCKET, "XAmzContentSHA256Mismatch",
           400);
    expect(ORC_ECONFLICT, ORC_D_PRECONDITION, S3E_NO_SUCH_KEY, "PreconditionFailed", 412);
    expect(ORC_ECONFLICT, ORC_D_SOURCE_CHANGED, S3E_NO_SUCH_KEY, "PreconditionFailed", 412);
    expect(ORC_ENOTFOUND, ORC_D_NO_SUCH_UPLOAD, S3E_NO_SUCH_KEY, "NoSuchUpload", 404);
    expect(ORC_EINVAL, ORC_D_INVALID_RANGE, S3E_NO_SUCH_KEY, "InvalidRange", 416);
    expect(ORC_EINVAL, ORC_D_TOO_LARGE, S3E_NO_SUCH_KEY, "EntityTooLarge", 400);
}

/* A detail is a sub-error of one code: passed on with another code (as a
 * caller remapping ECORRUPT to EINTERNAL does) it does not count. */
static void test_a_detail_only_counts_with_its_code(void **s)
{
    (void)s;
    expect(ORC_EINTERNAL, ORC_D_BAD_DIGEST, S3E_NO_SUCH_KEY, "InternalError", 500);
    expect(ORC_ENOTFOUND, ORC_D_PRECONDITION, S3E_NO_SUCH_KEY, "NoSuchKey", 404);
    expect(ORC_EINVAL, 9999, S3E_NO_SUCH_KEY, "InvalidArgument", 400);
    expect(ORC_EINVAL, -1, S3E_NO_SUCH_KEY, "InvalidArgument", 400);
}

static void test_every_code_has_an_answer(void **s)
{
    (void)s;
    expect(ORC_ENOTFOUND, 0, S3E_NO_SUCH_BUCKET, "NoSuchBucket", 404);
    expect(ORC_ENOTFOUND, 0, S3E_NO_SUCH_UPLOAD, "NoSuchUpload", 404);
    expect(ORC_EINVAL, 0, S3E_NO_SUCH_KEY, "InvalidArgument", 400);
    expect(ORC_EAUTH, 0, S3E_NO_SUCH_KEY, "AccessDenied", 403);
    expect(ORC_ECONFLICT, 0, S3E_NO_SUCH_KEY, "OperationAborted", 409);
    expect(ORC_EEXISTS, 0, S3E_NO_SUCH_KEY, "OperationAborted", 409);
    expect(ORC_ENOSPC, 0, S3E_NO_SUCH_KEY, "ServiceUnavailable", 503);
    expect(ORC_ETRANSIENT, 0, S3E_NO_SUCH_KEY, "SlowDown", 503);
    expect(ORC_EBUSY, 0, S3E_NO_SUCH_KEY, "SlowDown", 503);
    expect(ORC_ECANCELED, 0, S3E_NO_SUCH_KEY, "ServiceUnavailable", 503);
    expect(ORC_ECORRUPT, 0, S3E_NO_SUCH_KEY, "InternalError", 500);
    expect(ORC_EIO, 0, S3E_NO_SUCH_KEY, "InternalError", 500);
    expect(ORC_EINTERNAL, 0, S3E_NO_SUCH_KEY, "InternalError", 500);
    expect(ORC_EAGAIN, 0, S3E_NO_SUCH_KEY, "InternalError", 500);
    expect(-99, 0, S3E_NO_SUCH_KEY, "InternalError", 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_details_map_to_their_s3_errors),
        cmocka_unit_test(test_a_detail_only_counts_with_its_code),
        cmocka_unit_test(test_every_code_has_an_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
