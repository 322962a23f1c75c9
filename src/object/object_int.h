/* Shared between the object layer's files; not for other layers. */
#ifndef ORC_OBJECT_OBJECT_INT_H
#define ORC_OBJECT_OBJECT_INT_H

/* The smallest key greater than every key that starts with p: p with its
 * trailing 0xff bytes dropped and the last byte incremented (malloc'ed), or
 * NULL when there is none. Listings skip a common prefix in one step with it. */
char *object_key_successor(const char *p);

#endif
