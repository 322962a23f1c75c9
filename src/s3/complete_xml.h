/* The body of CompleteMultipartUpload: the list of parts a client names,
 * read from its XML, kept apart from multipart_ops.c so that the parser of
 * this untrusted document has its own fuzz target (fuzz/fuzz_complete.c). */
#ifndef ORC_S3_COMPLETE_XML_H
#define ORC_S3_COMPLETE_XML_H

#include <stddef.h>

#include "meta/meta.h"
#include "s3/errors.h"

/* What the body lists: per part its number (a number over META_PART_MAX is
 * kept as META_PART_MAX + 1: the caller refuses it as InvalidPart), its ETag
 * unquoted ("" if it cannot be one of ours) and, if given, its checksum as
 * "NAME:base64" (the stored form), else "". parts[i].etag points into etags. */
typedef struct s3_complete_list {
    meta_part_ref *parts;
    char (*etags)[64];
    char (*cks)[64];
    size_t n;
} s3_complete_list;

/* Parses body[0..len) into l (emptied first). S3E_NONE with at least one part;
 * S3E_MALFORMED_XML for a document of another shape, no parts, more than
 * META_PART_MAX, or a PartNumber that is not a number; S3E_INVALID_PART for a
 * Checksum* that is not one, or two of them in a part. l is empty on error. */
enum s3_error s3_complete_parse(const char *body, size_t len, s3_complete_list *l);
void s3_complete_list_free(s3_complete_list *l);

#endif
