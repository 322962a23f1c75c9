/* S3's additional checksums (x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1,
 * -sha256): names, strict parsing of the base64 values clients send, and
 * running computation over a body as it streams. */
#ifndef ORC_S3_CHECKSUM_H
#define ORC_S3_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s3/errors.h"

#define S3_CHECKSUM_MAX 32     /* raw bytes of the largest (SHA-256) */
#define S3_CHECKSUM_B64_MAX 48 /* base64 of S3_CHECKSUM_MAX bytes, NUL included */

enum s3_checksum_alg {
    S3_CK_NONE = 0,
    S3_CK_CRC32,
    S3_CK_CRC32C,
    S3_CK_CRC64NVME,
    S3_CK_SHA1,
    S3_CK_SHA256,
};

typedef struct s3_checksum {
    enum s3_checksum_alg alg;
    uint32_t crc32;
    uint64_t crc64;
    void *md; /* EVP_MD_CTX for the SHA ones */
} s3_checksum;

/* "x-amz-checksum-crc32" (any case) -> S3_CK_CRC32; S3_CK_NONE if not one. */
enum s3_checksum_alg s3_checksum_by_header(const char *name);
/* "CRC32" (any case, as in x-amz-sdk-checksum-algorithm) -> S3_CK_CRC32. */
enum s3_checksum_alg s3_checksum_by_name(const char *name);
/* "x-amz-checksum-crc32" / "CRC32"; alg must not be S3_CK_NONE. */
const char *s3_checksum_header(enum s3_checksum_alg alg);
const char *s3_checksum_name(enum s3_checksum_alg alg);
/* Raw size of the algorithm's value in bytes (4, 4, 8, 20, 32). */
size_t s3_checksum_size(enum s3_checksum_alg alg);

/* Decodes a client's value: canonical padded base64 of exactly the
 * algorithm's size (4, 4, 8, 20 or 32 bytes). -1 for anything else. */
int s3_checksum_decode(enum s3_checksum_alg alg, const char *b64, uint8_t raw[S3_CHECKSUM_MAX]);

/* Running computation: init, update with each piece, final (which also
 * disposes). dispose alone abandons one. */
void s3_checksum_init(s3_checksum *c, enum s3_checksum_alg alg);
void s3_checksum_update(s3_checksum *c, const void *data, size_t len);
/* Writes the raw value (returns its size) and its base64 to b64 (may be NULL). */
size_t s3_checksum_final(s3_checksum *c, uint8_t raw[S3_CHECKSUM_MAX],
                         char b64[S3_CHECKSUM_B64_MAX]);
void s3_checksum_dispose(s3_checksum *c);

/* ---- checksums of multipart uploads ----
 * An upload created with x-amz-checksum-algorithm keeps it as a line of its
 * stored headers (not of the object's); each part's verified checksum is
 * kept with the part as "NAME:base64" (s3_checksum_stored_text); completing
 * stores S3's composite checksum, the checksum of the parts' raw checksums
 * followed by "-N", as the object's x-amz-checksum-* header. */
#define S3_CHECKSUM_UPLOAD_LINE "x-amz-checksum-algorithm: "
#define S3_CHECKSUM_STORED_MAX 64    /* "NAME:base64" of a part, NUL included */
#define S3_CHECKSUM_COMPOSITE_MAX 72 /* "base64-N" (N up to 20 digits), NUL included */

/* CreateMultipartUpload's x-amz-checksum-algorithm and x-amz-checksum-type
 * (either may be NULL) into *alg. Only composite checksums are kept (S3's
 * full-object CRCs of multipart uploads would need the parts' CRCs
 * combined). S3E_NONE, or the error to answer with *msg its message. */
enum s3_error s3_checksum_create_args(const char *alg_header, const char *type_header,
                                      enum s3_checksum_alg *alg, const char **msg);
/* The algorithm an upload was created with, from its stored headers (may be
 * NULL), or S3_CK_NONE. */
enum s3_checksum_alg s3_checksum_upload_alg(const char *headers);
/* The completed object's stored headers: the upload's without its algorithm
 * line, then line (a composite "x-amz-checksum-*: v-N\n", or ""). NULL when
 * there are none (the upload's are then kept, which are none); malloc'ed. */
char *s3_checksum_object_headers(const char *upload_headers, const char *line);
/* A part's checksum as stored: "NAME:base64" of header ckn's value ckv. */
void s3_checksum_stored_text(const char *ckn, const char *ckv, char out[S3_CHECKSUM_STORED_MAX]);
/* A part's stored checksum "NAME:base64" into its algorithm and raw value;
 * S3_CK_NONE if it has none (also for NULL). */
enum s3_checksum_alg s3_checksum_stored(const char *stored, uint8_t raw[S3_CHECKSUM_MAX]);
/* S3's composite checksum of n parts from their stored checksums (NULL for
 * a part not found): when every one has the same composite-capable
 * algorithm (want's, unless S3_CK_NONE), writes "base64-N" to value and
 * returns the algorithm; S3_CK_NONE otherwise. */
enum s3_checksum_alg s3_checksum_composite(const char *const *stored, size_t n,
                                           enum s3_checksum_alg want,
                                           char value[S3_CHECKSUM_COMPOSITE_MAX]);

#endif
