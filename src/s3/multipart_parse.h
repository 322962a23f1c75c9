/* Parsers of the multipart operations' query values and headers (untrusted
 * input): part numbers, max-* list sizes and x-amz-copy-source-range. The
 * CompleteMultipartUpload body has its own streaming parser (complete_xml.h). */
#ifndef ORC_S3_MULTIPART_PARSE_H
#define ORC_S3_MULTIPART_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define S3_MP_LIST_MAX 1000 /* the most parts or uploads one list answers */
#define S3_PART_NUMBER_MSG "Part number must be an integer between 1 and 10000, inclusive"

/* ?partNumber: an integer 1..META_PART_MAX (no sign, no blanks). -1 otherwise,
 * also for NULL. */
int s3_mp_parse_part_number(const char *s, int *out);
/* A max-parts / max-uploads value: NULL keeps *out; a value over
 * S3_MP_LIST_MAX is capped to it; -1 for anything but a 32-bit count. */
int s3_mp_parse_max(const char *s, size_t *out);
/* x-amz-copy-source-range: "bytes=first-last", both given, first <= last. */
int s3_mp_parse_copy_range(const char *v, uint64_t *first, uint64_t *last);

#endif
