/* The CompleteMultipartUpload request body, parsed as a stream: the util/
 * XML reader's handlers build the part list directly, so a body listing all
 * 10,000 parts costs one small record per part rather than a tree of 40,000
 * nodes. */
#ifndef ORC_S3_COMPLETE_XML_H
#define ORC_S3_COMPLETE_XML_H

#include <stddef.h>
#include <stdint.h>

#include "object/object.h" /* META_PART_MAX, the object layer's vocabulary */
#include "s3/checksum.h"
#include "s3/errors.h"

/* Sizes of the largest valid body, from which its cap derives: 10,000
 * <Part>s, each with a PartNumber, an ETag (quoted, possibly as &quot;) and
 * the longest checksum element (ChecksumSHA256's 44 base64 characters; the
 * longer name ChecksumCRC64NVME holds only 12), and room for indentation. */
#define CMU_LIT(s) (sizeof(s) - 1)
#define COMPLETE_ETAG_TEXT_MAX (2 * CMU_LIT("&quot;") + 63) /* ETags are under 64 */
#define COMPLETE_CHECKSUM_ELEM_MAX                                                                 \
    (CMU_LIT("<ChecksumSHA256></ChecksumSHA256>") + S3_CHECKSUM_B64_MAX - 1)
#define COMPLETE_SPACE_PER_PART 96 /* a pretty-printer's newlines and indentation */
#define COMPLETE_PART_MAX                                                                          \
    (CMU_LIT("<Part><PartNumber>10000</PartNumber><ETag></ETag></Part>") +                         \
     COMPLETE_ETAG_TEXT_MAX + COMPLETE_CHECKSUM_ELEM_MAX + COMPLETE_SPACE_PER_PART)
#define COMPLETE_ENVELOPE_MAX 1024 /* XML declaration, root element with xmlns */
/* The cap on a CompleteMultipartUpload body (about 2.9 MB). */
#define S3_COMPLETE_MAX_BODY ((size_t)META_PART_MAX * COMPLETE_PART_MAX + COMPLETE_ENVELOPE_MAX)
/* Elements of the largest valid body: root, and per part Part, PartNumber,
 * ETag and one checksum; a body with more is not one S3 would accept. */
#define COMPLETE_MAX_ELEMENTS ((size_t)META_PART_MAX * 4 + 1)

typedef struct s3_complete_part {
    int number;        /* META_PART_MAX + 1 for any number past META_PART_MAX */
    char etag[64];     /* unquoted; "" when too long to be any part's */
    char checksum[64]; /* "NAME:base64" as parts store it, or "" */
} s3_complete_part;

typedef struct s3_complete_list {
    s3_complete_part *v;
    size_t n;
} s3_complete_list;

/* Parses a whole body into out (free with s3_complete_list_free, also after a
 * failure). S3E_MALFORMED_XML: not well-formed XML, not a
 * <CompleteMultipartUpload>, no <Part>, a <Part> without PartNumber or ETag,
 * a PartNumber that is not a number, more than META_PART_MAX parts or
 * COMPLETE_MAX_ELEMENTS elements. S3E_INVALID_PART: a part with more than one
 * checksum or a checksum value that cannot be one (as S3 answers). */
enum s3_error s3_complete_parse(const char *data, size_t len, s3_complete_list *out);
void s3_complete_list_free(s3_complete_list *l);

#endif
