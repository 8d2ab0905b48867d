/* A small key-file lexer with line numbers, used by config.c.
 *
 * Not GKeyFile: camgate's documented example uses trailing "# comments", and
 * every message must name FILE:LINE. cg_keyfile_new_from_data() splits the text
 * into groups of key = value entries, reporting syntax, UTF-8 and duplicates;
 * the caller then gives each group and key its meaning, reporting through the
 * same CgKeyFile. Only the first error in file order is kept: each error has a
 * rank, the line at which a reader going down the file could first notice it
 * (a missing key: the end of its group), and the lowest rank wins. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CG_KEYFILE_LAST_RANK G_MAXUINT   /* of errors only known at the end of the file */

typedef struct {
  char *key;
  char *value;          /* comment cut, trimmed, unescaped; "" = as if absent */
  guint line;
  gboolean used;        /* looked up with cg_keyfile_take() */
  const char *note;     /* static; set by the caller, warned by cg_keyfile_warn_keys() */
} CgKeyFileEntry;

typedef struct {
  char *name;           /* "gateway"; an id group "camera ID" with one space */
  guint line;           /* of the [header]; 0 for a group that is absent */
  guint end;            /* last line of the group */
  gboolean duplicate;   /* reported as an error; not to be parsed */
  GPtrArray *entries;   /* element-type CgKeyFileEntry, file order */
} CgKeyFileGroup;

/* What the lexer must know of the file's meaning. Every field is required;
 * the arrays are NULL-terminated. */
typedef struct {
  const char *const *id_groups;    /* "[camera   ID]" is named "camera ID" */
  const char *const *secret_keys;  /* their values are never quoted in a message */
  const char *orphan_hint;         /* for a key before any group: where it goes */
} CgKeyFileSyntax;

typedef struct _CgKeyFile CgKeyFile;

/* Lexes @data; errors are kept for cg_keyfile_check(). @path (used in messages)
 * and @syntax are not copied: they must outlive the result. transfer full */
CgKeyFile *cg_keyfile_new_from_data (const char *data, gsize len, const char *path,
                                     const CgKeyFileSyntax *syntax);
void cg_keyfile_free (CgKeyFile *keyfile);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgKeyFile, cg_keyfile_free)

/* element-type CgKeyFileGroup, file order, duplicates included. transfer none */
GPtrArray *cg_keyfile_get_groups (CgKeyFile *keyfile);
/* The first group named @name, or NULL. transfer none */
CgKeyFileGroup *cg_keyfile_find_group (CgKeyFile *keyfile, const char *name);
/* An empty stand-in for a group the file lacks: line 0 and end
 * CG_KEYFILE_LAST_RANK, so that a required key it misses is reported last.
 * transfer full */
CgKeyFileGroup *cg_keyfile_group_new_absent (const char *name);
void cg_keyfile_group_free (CgKeyFileGroup *group);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgKeyFileGroup, cg_keyfile_group_free)

/* An error about @line ("PATH:LINE: message"; line 0, the file as a whole, reads as line 1),
 * noticed at @rank; kept only when its rank is the lowest so far. */
void cg_keyfile_fail_late (CgKeyFile *keyfile, guint rank, guint line,
                           const char *format, ...) G_GNUC_PRINTF (4, 5);
/* An error on @line, noticed there. @line is evaluated twice. */
#define cg_keyfile_fail(keyfile, line, ...) \
  cg_keyfile_fail_late ((keyfile), (line), (line), __VA_ARGS__)
/* A warning, "PATH:LINE: message" (line 0 reads as line 1), in call order. */
void cg_keyfile_warn (CgKeyFile *keyfile, guint line, const char *format, ...)
  G_GNUC_PRINTF (3, 4);
/* TRUE if no error was reported; else FALSE, moving the kept one to @error. */
gboolean cg_keyfile_check (CgKeyFile *keyfile, GError **error);
/* element-type utf8, in the order warned; call once, after the last warning.
 * transfer full */
GPtrArray *cg_keyfile_steal_warnings (CgKeyFile *keyfile);

/* Marks @key of @group as known. The entry, or NULL when absent. transfer none */
CgKeyFileEntry *cg_keyfile_take (CgKeyFileGroup *group, const char *key);
/* The value of @entry, or NULL when @entry is NULL or its value empty. transfer none */
const char *cg_keyfile_value (const CgKeyFileEntry *entry);
/* cg_keyfile_value (cg_keyfile_take (@group, @key)). transfer none */
const char *cg_keyfile_take_value (CgKeyFileGroup *group, const char *key);
/* Marks @key of @group, when set, to be warned about as KEY followed by @text
 * (static), e.g. " is not supported yet: ignored". */
void cg_keyfile_note (CgKeyFileGroup *group, const char *key, const char *text);
/* Warns, in file order, of each key of @group not taken (unknown) or noted. */
void cg_keyfile_warn_keys (CgKeyFile *keyfile, const CgKeyFileGroup *group);
/* Sets *@out to the index of @entry's value in @names (NULL-terminated);
 * unchanged when the value is absent, and an error when it is not one of them. */
void cg_keyfile_parse_enum (CgKeyFile *keyfile, const CgKeyFileEntry *entry,
                            const char *const *names, int *out);
/* Comma-separated @value (may be NULL) as a NULL-terminated string vector, items
 * trimmed, empty ones skipped. transfer full */
char **cg_keyfile_split_list (const char *value);

/* @text (valid UTF-8), shortened and with control characters replaced, safe to
 * quote in a message. transfer full */
char *cg_keyfile_echo (const char *text);
/* A copy of @text with anything between "://" and the last '@' shown as "***".
 * transfer full */
char *cg_keyfile_mask_userinfo (const char *text);

G_END_DECLS
