/* An in-memory provider for tests: an implementation of the ops table of
 * provider/provider_impl.h that keeps blobs in a list, so the layers above
 * (place/, object/) run against it through the ordinary provider_* wrappers
 * (counters, deadlines and health included). Its behaviour is scriptable per
 * operation, from any thread:
 *   fail     the next N calls of an operation answer a given code, or every
 *            call does (a provider that is down), without touching a blob
 *   delay    every call sleeps MS milliseconds first
 *   hang     every call blocks until its deadline (provider_set_deadline),
 *            then answers ORC_ETRANSIENT as a timed-out request
 *   corrupt  a get returns what is stored with one byte flipped
 * and it counts calls and how many run at once (the most ever: in-flight). */
#ifndef ORC_TEST_FAKE_PROVIDER_H
#define ORC_TEST_FAKE_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provider/provider.h"

enum fake_op { FAKE_PUT, FAKE_GET, FAKE_DEL, FAKE_HEAD, FAKE_LIST, FAKE_NOPS };

/* A new, empty provider named name (kind "fake", ranged gets). Free it with
 * provider_free. */
provider *fake_provider_new(const char *name);

/* The next n calls of op answer code (an ORC_E* value) and do nothing. */
void fake_fail_next(provider *p, enum fake_op op, int n, int code);
/* Every call of every op answers code until called again with 0 (the
 * provider is unreachable). */
void fake_set_fail(provider *p, int code);
/* Every call of op sleeps ms first (0: none). */
void fake_set_delay(provider *p, enum fake_op op, int ms);
/* Every call of op blocks until its call deadline, then fails (false: stop). */
void fake_set_hang(provider *p, enum fake_op op, bool on);
/* Every get returns its bytes with one flipped (false: stop). */
void fake_set_corrupt(provider *p, bool on);

/* Calls of op so far (those scripted to fail included). */
int fake_calls(provider *p, enum fake_op op);
/* The most calls of op that ever ran at the same time. */
int fake_max_in_flight(provider *p, enum fake_op op);
/* Blobs stored, and their total size. */
size_t fake_count(provider *p);
uint64_t fake_bytes(provider *p);
/* Whether a blob named name is stored. */
bool fake_has(provider *p, const char *name);
/* Flips one byte of the stored blob name; false if there is none. */
bool fake_corrupt_blob(provider *p, const char *name);

#endif
