/* S3 error table: code, status and message, as in the S3 API reference's
 * "List of error codes". Indexed by enum s3_error. */
#include "s3/errors.h"

#include <stddef.h>

#include "util/err.h"

static const struct s3_error_info table[S3E_COUNT] = {
    [S3E_NONE] = {"OK", 200, "OK"},
    [S3E_ACCESS_DENIED] = {"AccessDenied", 403, "Access Denied"},
    [S3E_AUTHORIZATION_HEADER_MALFORMED] = {"AuthorizationHeaderMalformed", 400,
                                            "The authorization header is malformed."},
    [S3E_BAD_DIGEST] = {"BadDigest", 400,
                        "The Content-MD5 you specified did not match what we received."},
    [S3E_BUCKET_ALREADY_EXISTS] = {"BucketAlreadyExists", 409,
                                   "The requested bucket name is not available. The bucket "
                                   "namespace is shared by all users of the system. Please "
                                   "select a different name and try again."},
    [S3E_BUCKET_ALREADY_OWNED_BY_YOU] = {"BucketAlreadyOwnedByYou", 409,
                                         "Your previous request to create the named bucket "
                                         "succeeded and you already own it."},
    [S3E_BUCKET_NOT_EMPTY] = {"BucketNotEmpty", 409,
                              "The bucket you tried to delete is not empty."},
    [S3E_ENTITY_TOO_LARGE] = {"EntityTooLarge", 400,
                              "Your proposed upload exceeds the maximum allowed object size."},
    [S3E_INCOMPLETE_BODY] = {"IncompleteBody", 400,
                             "You did not provide the number of bytes specified by the "
                             "Content-Length HTTP header."},
    [S3E_INTERNAL_ERROR] = {"InternalError", 500,
                            "We encountered an internal error. Please try again."},
    [S3E_INVALID_ACCESS_KEY_ID] = {"InvalidAccessKeyId", 403,
                                   "The AWS access key Id you provided does not exist in our "
                                   "records."},
    [S3E_INVALID_ARGUMENT] = {"InvalidArgument", 400, "Invalid Argument"},
    [S3E_INVALID_BUCKET_NAME] = {"InvalidBucketName", 400, "The specified bucket is not valid."},
    [S3E_INVALID_DIGEST] = {"InvalidDigest", 400, "The Content-MD5 you specified is not valid."},
    [S3E_INVALID_RANGE] = {"InvalidRange", 416, "The requested range is not satisfiable"},
    [S3E_INVALID_STORAGE_CLASS] = {"InvalidStorageClass", 400,
                                   "The storage class you specified is not valid"},
    [S3E_INVALID_REQUEST] = {"InvalidRequest", 400, "Invalid Request"},
    [S3E_KEY_TOO_LONG] = {"KeyTooLongError", 400, "Your key is too long"},
    [S3E_MALFORMED_XML] = {"MalformedXML", 400,
                           "The XML you provided was not well-formed or did not validate "
                           "against our published schema."},
    [S3E_METHOD_NOT_ALLOWED] = {"MethodNotAllowed", 405,
                                "The specified method is not allowed against this resource."},
    [S3E_MISSING_CONTENT_LENGTH] = {"MissingContentLength", 411,
                                    "You must provide the Content-Length HTTP header."},
    [S3E_NO_SUCH_BUCKET] = {"NoSuchBucket", 404, "The specified bucket does not exist"},
    [S3E_NO_SUCH_KEY] = {"NoSuchKey", 404, "The specified key does not exist."},
    [S3E_NOT_IMPLEMENTED] = {"NotImplemented", 501,
                             "A header you provided implies functionality that is not "
                             "implemented"},
    [S3E_REQUEST_TIME_TOO_SKEWED] = {"RequestTimeTooSkewed", 403,
                                     "The difference between the request time and the "
                                     "server's time is too large."},
    [S3E_SERVICE_UNAVAILABLE] = {"ServiceUnavailable", 503, "Please reduce your request rate."},
    [S3E_SIGNATURE_DOES_NOT_MATCH] = {"SignatureDoesNotMatch", 403,
                                      "The request signature we calculated does not match "
                                      "the signature you provided. Check your key and "
                                      "signing method."},
    [S3E_SLOW_DOWN] = {"SlowDown", 503, "Please reduce your request rate."},
    [S3E_XAMZ_CONTENT_SHA256_MISMATCH] = {"XAmzContentSHA256Mismatch", 400,
                                          "The provided 'x-amz-content-sha256' header does "
                                          "not match what was computed."},
    [S3E_PRECONDITION_FAILED] = {"PreconditionFailed", 412,
                                 "At least one of the pre-conditions you specified did not hold"},
    [S3E_NOT_MODIFIED] = {"NotModified", 304, "Not Modified"},
    [S3E_MALFORMED_TRAILER] = {"MalformedTrailerError", 400,
                               "The request contained trailing data that was not well-formed "
                               "or did not conform to our published schema."},
    [S3E_NO_SUCH_UPLOAD] = {"NoSuchUpload", 404,
                            "The specified multipart upload does not exist. The upload ID might "
                            "be invalid, or the multipart upload might have been aborted or "
                            "completed."},
    [S3E_INVALID_PART] = {"InvalidPart", 400,
                          "One or more of the specified parts could not be found. The part "
                          "might not have been uploaded, or the specified entity tag might not "
                          "have matched the part's entity tag."},
    [S3E_INVALID_PART_ORDER] = {"InvalidPartOrder", 400,
                                "The list of parts was not in ascending order. The parts list "
                                "must be specified in order by part number."},
    [S3E_ENTITY_TOO_SMALL] = {"EntityTooSmall", 400,
                              "Your proposed upload is smaller than the minimum allowed object "
                              "size."},
    [S3E_INVALID_TAG] = {"InvalidTag", 400, "The tag provided was not a valid tag."},
    [S3E_MALFORMED_ACL] = {"MalformedACLError", 400,
                           "The XML you provided was not well-formed or did not validate "
                           "against our published schema."},
    [S3E_INVALID_URI] = {"InvalidURI", 400, "Couldn't parse the specified URI."},
    [S3E_ACCESS_FORBIDDEN] = {"AccessForbidden", 403,
                              "CORSResponse: This CORS request is not allowed. This is usually "
                              "because the evalution of Origin, request method / "
                              "Access-Control-Request-Method or Access-Control-Request-Headers "
                              "are not whitelisted by the resource's CORS spec."},
    [S3E_OPERATION_ABORTED] = {"OperationAborted", 409,
                               "A conflicting conditional operation is currently in progress "
                               "against this resource. Try again."},
};

/* Each sub-error a lower layer reports (util/err.h), with the code it must
 * come with. Indexed by enum orc_detail. */
static const struct {
    int code;
    enum s3_error s3;
} details[] = {
    [ORC_D_INCOMPLETE_BODY] = {ORC_EINVAL, S3E_INCOMPLETE_BODY},
    [ORC_D_BAD_DIGEST] = {ORC_ECORRUPT, S3E_BAD_DIGEST},
    [ORC_D_SHA256_MISMATCH] = {ORC_ECORRUPT, S3E_XAMZ_CONTENT_SHA256_MISMATCH},
    [ORC_D_PRECONDITION] = {ORC_ECONFLICT, S3E_PRECONDITION_FAILED},
    [ORC_D_SOURCE_CHANGED] = {ORC_ECONFLICT, S3E_PRECONDITION_FAILED},
    [ORC_D_NO_SUCH_UPLOAD] = {ORC_ENOTFOUND, S3E_NO_SUCH_UPLOAD},
    [ORC_D_INVALID_RANGE] = {ORC_EINVAL, S3E_INVALID_RANGE},
    [ORC_D_TOO_LARGE] = {ORC_EINVAL, S3E_ENTITY_TOO_LARGE},
    [ORC_D_STORAGE_CLASS] = {ORC_EINVAL, S3E_INVALID_STORAGE_CLASS},
};

enum s3_error s3_error_for(int code, int detail, enum s3_error notfound)
{
    if (detail > ORC_D_NONE && (size_t)detail < sizeof(details) / sizeof(details[0]) &&
        details[detail].code == code && details[detail].s3)
        return details[detail].s3;
    switch (code) {
    case ORC_OK:
        return S3E_INTERNAL_ERROR; /* a caller's bug: a failure with no code */
    case ORC_ENOTFOUND:
        return notfound;
    case ORC_EINVAL:
        return S3E_INVALID_ARGUMENT;
    case ORC_EAUTH:
        return S3E_ACCESS_DENIED;
    case ORC_ECONFLICT:
    case ORC_EEXISTS:
        return S3E_OPERATION_ABORTED;
    case ORC_ENOSPC: /* the server's space or a limit of its own: retry later */
        return S3E_SERVICE_UNAVAILABLE;
    case ORC_ETRANSIENT:
    case ORC_EBUSY:
        return S3E_SLOW_DOWN;
    case ORC_ECANCELED: /* nobody reads this answer: the client is gone */
        return S3E_SERVICE_UNAVAILABLE;
    default: /* EIO, EINTERNAL, ECORRUPT, EAGAIN (never sent), unknown */
        return S3E_INTERNAL_ERROR;
    }
}

const struct s3_error_info *s3_error_get(enum s3_error e)
{
    if ((int)e < 0 || e >= S3E_COUNT || !table[e].code) return &table[S3E_INTERNAL_ERROR];
    return &table[e];
}
