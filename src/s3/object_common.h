/* Helpers of the object, copy, tagging and multipart operations
 * (object_common.c). s3_int.h declares those multipart_ops.c uses too
 * (s3_stored_headers, s3_object_headers, s3_put_condition,
 * s3_parse_content_md5, s3_commit_of, s3_check_xml_body); these are the rest. */
#ifndef ORC_S3_OBJECT_COMMON_H
#define ORC_S3_OBJECT_COMMON_H

#include "s3/s3_int.h"

/* GET and HEAD's response-* query parameters (response-content-type, ...). */
#define S3_N_OVERRIDES 6

/* Reads the response-* parameters into ov (NULL where absent; the caller
 * frees each). A value with a control character would split the response
 * header: InvalidArgument is sent and non-zero returned. */
int s3_read_overrides(s3_req *r, char *ov[S3_N_OVERRIDES]);
/* ETag and Last-Modified of o (all a 304 carries). */
void s3_validator_headers(s3_req *r, const meta_object *o);
/* Reads a write's If-None-Match / If-Match into *c (left zero when neither is
 * sent) without checking it. Non-zero: answered (NotImplemented, 412). */
int s3_put_condition_parse(s3_req *r, meta_put_cond *c);

#endif
