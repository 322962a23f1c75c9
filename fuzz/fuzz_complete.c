/* Fuzz target: the CompleteMultipartUpload body (s3/complete_xml.c). What it
 * yields must be a list the complete can use as is: 1..10000 parts, numbers
 * in range or marked out of range, ETags and checksums that fit and point
 * where they should; on refusal nothing is left behind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3/complete_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int checksum_ok(const char *ck)
{
    static const char *const names[] = {"CRC32:", "CRC32C:", "CRC64NVME:", "SHA1:", "SHA256:"};
    if (!ck[0]) return 1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strncmp(ck, names[i], strlen(names[i])) == 0) return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s3_complete_list l;
    enum s3_error err = s3_complete_parse((const char *)data, size, &l);
    if (err) {
        if (err != S3E_MALFORMED_XML && err != S3E_INVALID_PART) abort();
        if (l.n || l.parts || l.etags || l.cks) abort(); /* refused: nothing kept */
        return 0;
    }
    if (l.n < 1 || l.n > META_PART_MAX) abort();
    for (size_t i = 0; i < l.n; i++) {
        if (l.parts[i].number < 0 || l.parts[i].number > META_PART_MAX + 1) abort();
        if (l.parts[i].etag != l.etags[i] || strnlen(l.etags[i], 64) >= 64) abort();
        if (strnlen(l.cks[i], 64) >= 64 || !checksum_ok(l.cks[i])) abort();
    }
    s3_complete_list_free(&l);
    return 0;
}
