/* The SQLite metadata store's small shared helpers: mapping SQLite results to
 * orc codes, stepping statements, binding and reading columns. Every sqlite_*.c
 * file uses them and they use none of those files, so the object and the
 * multipart sides need not reach into each other for plumbing. */
#include "meta/sqlite_int.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"

const char *sq_state_name(int state)
{
    switch (state) {
    case META_CHUNK_PENDING:
        return "pending";
    case META_CHUNK_LIVE:
        return "live";
    case META_CHUNK_DELETING:
        return "being collected";
    }
    return "in an unknown state";
}

/* Maps a SQLite result to an orc code and fills e with what failed. */
int sq_db_fail(sqlite3 *db, int rc, const char *what, orc_err *e)
{
    int code;
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        code = ORC_EEXISTS;
        break;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        code = ORC_ECONFLICT;
        break;
    default:
        switch (rc & 0xff) {
        case SQLITE_FULL:
            code = ORC_ENOSPC;
            break;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            code = ORC_ETRANSIENT;
            break;
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_PROTOCOL:
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            code = ORC_EIO;
            break;
        default:
            code = ORC_EINTERNAL;
        }
    }
    return orc_fail(e, code, "metadata %s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* A bind failed: only a misuse, a value over SQLite's limits or out of memory can. */
int sq_bind_fail(struct conn *c, orc_err *e)
{
    return sq_db_fail(c->db, SQLITE_ERROR, "bind", e);
}

/* Runs s, which returns no rows, and resets it. */
int sq_run(struct conn *c, sqlite3_stmt *s, const char *what, orc_err *e)
{
    int rc = sqlite3_step(s);
    int ret = rc == SQLITE_DONE ? ORC_OK : sq_db_fail(c->db, rc, what, e);
    sqlite3_reset(s);
    return ret;
}

/* Steps s: 1 for a sq_row (the caller reads it, and resets s when done), 0 at
 * the end, or an error code; s is reset in those two cases. */
int sq_row(struct conn *c, sqlite3_stmt *s, const char *what, orc_err *e)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return 1;
    int ret = rc == SQLITE_DONE ? 0 : sq_db_fail(c->db, rc, what, e);
    sqlite3_reset(s);
    return ret;
}

int sq_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC); /* NULL binds NULL */
}

void sq_copy_text(char *dst, size_t cap, sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

char *sq_dup_text(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return t ? orc_strndup((const char *)t, (size_t)sqlite3_column_bytes(s, col)) : NULL;
}

int64_t sq_clamp64(uint64_t v)
{
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* The smallest string greater than every string starting with prefix, in
 * byte order: drop trailing 0xFF bytes and increment the last. false if none
 * exists (prefix empty or all 0xFF). */
bool sq_prefix_successor(const char *prefix, char *out, size_t cap)
{
    size_t n = strlen(prefix);
    while (n > 0 && (unsigned char)prefix[n - 1] == 0xFF)
        n--;
    if (n == 0 || n >= cap) return false;
    memcpy(out, prefix, n);
    out[n - 1] = (char)((unsigned char)out[n - 1] + 1);
    out[n] = '\0';
    return true;
}
