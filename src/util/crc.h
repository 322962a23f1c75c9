/* CRC-32 (ISO-HDLC, zlib's), CRC-32C (Castagnoli) and CRC-64/NVME: the
 * checksums S3 clients send as x-amz-checksum-crc32 / -crc32c / -crc64nvme.
 * Table-driven (slicing by 8), no dependency; tables are built once. */
#ifndef ORC_UTIL_CRC_H
#define ORC_UTIL_CRC_H

#include <stddef.h>
#include <stdint.h>

/* Running checksums in zlib's style: start with 0, pass the previous result
 * with each piece; the value after the last piece is the checksum of the
 * concatenation. Thread-safe. */
uint32_t crc_crc32(uint32_t crc, const void *data, size_t len);
uint32_t crc_crc32c(uint32_t crc, const void *data, size_t len);
uint64_t crc_crc64nvme(uint64_t crc, const void *data, size_t len);

#endif
