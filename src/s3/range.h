/* The HTTP Range header as S3 reads it: one range, "bytes=a-b", "bytes=a-" or
 * "bytes=-n". */
#ifndef ORC_S3_RANGE_H
#define ORC_S3_RANGE_H

#include <stdint.h>

enum s3_range_result {
    S3_RANGE_OK,            /* *out holds an inclusive range within size */
    S3_RANGE_IGNORE,        /* absent, malformed or multi-range: S3 sends the whole object */
    S3_RANGE_UNSATISFIABLE, /* 416 InvalidRange */
};

typedef struct s3_range {
    uint64_t first, last; /* inclusive */
} s3_range;

/* hdr may be NULL. size is the object's length. */
enum s3_range_result s3_range_parse(const char *hdr, uint64_t size, s3_range *out);

#endif
