/* The key-file lexer under the configuration (see keyfile.h).
 *
 * Lexing splits the text into groups of entries and checks only what any key
 * file needs: syntax, UTF-8, escapes, duplicate groups and keys. Errors are
 * ranked (see keyfile.h) so that the one reported is the first in file order,
 * whoever found it. Nothing here knows what a group or key means, except what
 * CgKeyFileSyntax says; a line quoted in a message never shows the value of a
 * secret key, nor URL userinfo. */
#define G_LOG_DOMAIN "camgate-config"

#include "keyfile.h"
#include "error.h"

#include <string.h>

#define MAX_ECHO 40             /* characters of user text quoted in a message */
#define KEY_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."

struct _CgKeyFile {
  const char *path;
  const CgKeyFileSyntax *syntax;
  GPtrArray *groups;        /* element-type CgKeyFileGroup, file order */
  CgKeyFileGroup *current;  /* where the next key goes; NULL before any group */
  GPtrArray *warnings;      /* element-type utf8, call order */
  GError *error;            /* the error of lowest rank so far */
  guint error_rank;
  guint n_lines;
};

/* ---- messages ---------------------------------------------------------- */

static void G_GNUC_PRINTF (4, 0)
report (CgKeyFile *kf, guint rank, guint line, const char *format, va_list args)
{
  g_autofree char *what = g_strdup_vprintf (format, args);

  if (kf->error && kf->error_rank <= rank)
    return;
  g_clear_error (&kf->error);
  kf->error_rank = rank;
  /* Line 0, about the file as a whole (a missing group), is reported at line 1:
   * every message reads FILE:LINE:, which editors and scripts rely on. */
  kf->error = g_error_new (CG_ERROR, CG_ERROR_CONFIG, "%s:%u: %s", kf->path, MAX (line, 1), what);
}

/* A line that could not be parsed, safe to quote: values of secret keys and
 * after an '=' are left out, URL userinfo masked. */
static char *
echo_line (CgKeyFile *kf, const char *text)
{
  g_autofree char *line = g_strstrip (g_strdup (text));
  g_autofree char *key = g_strndup (line, strspn (line, KEY_CHARS));
  g_autofree char *masked = NULL, *shown = NULL;
  char *eq = strchr (line, '=');
  gboolean cut = eq && eq[1];   /* a line with '=' failed on its key: no value */

  if (g_strv_contains (kf->syntax->secret_keys, key))
    return g_strdup_printf ("%s ...", key);
  if (cut)
    eq[1] = '\0';
  masked = cg_keyfile_mask_userinfo (line);
  shown = cg_keyfile_echo (masked);
  return cut ? g_strconcat (shown, " ...", NULL) : g_steal_pointer (&shown);
}

/* ---- lexing: text → groups of entries ---------------------------------- */

static void
entry_free (gpointer data)
{
  CgKeyFileEntry *e = data;

  g_free (e->key);
  g_free (e->value);
  g_free (e);
}

static CgKeyFileEntry *
find_entry (const CgKeyFileGroup *g, const char *key)
{
  for (guint i = 0; i < g->entries->len; i++) {
    CgKeyFileEntry *e = g_ptr_array_index (g->entries, i);
    if (g_str_equal (e->key, key))
      return e;
  }
  return NULL;
}

/* @name, or "PREFIX ID" (one space) for "PREFIX   ID" of an id group.
 * transfer full */
static char *
group_name (CgKeyFile *kf, char *name)
{
  for (const char *const *prefix = kf->syntax->id_groups; *prefix; prefix++) {
    gsize n = strlen (*prefix);
    if (g_str_has_prefix (name, *prefix) && g_ascii_isspace (name[n]))
      return g_strconcat (*prefix, " ", g_strchug (name + n), NULL);
  }
  return g_strdup (name);
}

/* "[name]  # comment": FALSE if it is not a group header. */
static gboolean
lex_group (CgKeyFile *kf, char *s, guint line)
{
  char *close = strchr (s, ']'), *rest, *name;
  CgKeyFileGroup *g, *first;

  if (!close)
    return FALSE;
  *close = '\0';
  rest = g_strchug (close + 1);
  name = g_strstrip (s + 1);
  if ((*rest && *rest != '#') || !*name || strchr (name, '['))
    return FALSE;
  g = g_new0 (CgKeyFileGroup, 1);
  g->name = group_name (kf, name);
  g->line = line;
  g->entries = g_ptr_array_new_with_free_func (entry_free);
  if ((first = cg_keyfile_find_group (kf, g->name))) {
    g_autofree char *shown = cg_keyfile_echo (g->name);
    cg_keyfile_fail (kf, line, "duplicate group [%s]: first on line %u; merge them or "
                     "rename one", shown, first->line);
    g->duplicate = TRUE;
  }
  if (kf->current)
    kf->current->end = line - 1;
  g_ptr_array_add (kf->groups, g);
  kf->current = g;
  return TRUE;
}

/* The text after '=': an inline comment (a '#' after whitespace) cut off,
 * whitespace trimmed, escapes resolved. NULL after reporting a bad escape. */
static char *
lex_value (CgKeyFile *kf, const char *key, const char *raw, guint line)
{
  g_autoptr (GString) out = g_string_new (NULL);
  const char *s = raw, *end = raw;

  for (; *end; end++) {
    if (*end == '\\' && end[1])
      end++;
    else if (*end == '#' && end > raw && (end[-1] == ' ' || end[-1] == '\t'))
      break;
  }
  while (s < end && g_ascii_isspace (*s))
    s++;
  while (end > s && g_ascii_isspace (end[-1]))
    end--;
  for (; s < end; s++) {
    if (*s != '\\') {
      g_string_append_c (out, *s);
      continue;
    }
    switch (++s < end ? *s : '\0') {
    case 's': g_string_append_c (out, ' '); break;
    case 'n': g_string_append_c (out, '\n'); break;
    case 't': g_string_append_c (out, '\t'); break;
    case 'r': g_string_append_c (out, '\r'); break;
    case '\\': case '#': g_string_append_c (out, *s); break;
    default:
      cg_keyfile_fail (kf, line, "invalid backslash escape in the value of %s: "
                       "use \\s, \\n, \\t, \\r, \\\\ or \\#", key);
      return NULL;
    }
  }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* "key = value  # comment": FALSE if it is not a key = value line. */
static gboolean
lex_entry (CgKeyFile *kf, char *s, guint line)
{
  char *eq = strchr (s, '='), *key, *value;
  CgKeyFileEntry *e, *first;

  if (!eq)
    return FALSE;
  *eq = '\0';
  key = g_strstrip (s);
  if (!*key || key[strspn (key, KEY_CHARS)] != '\0')
    return FALSE;
  if (!kf->current) {
    cg_keyfile_fail (kf, line, "key \"%s\" is outside any group: %s", key,
                     kf->syntax->orphan_hint);
    return TRUE;
  }
  if ((first = find_entry (kf->current, key))) {
    g_autofree char *group = cg_keyfile_echo (kf->current->name);
    cg_keyfile_fail (kf, line, "duplicate key \"%s\" in [%s]: first set on line %u; keep one",
                     key, group, first->line);
    return TRUE;
  }
  if (!(value = lex_value (kf, key, eq + 1, line)))
    return TRUE;
  e = g_new0 (CgKeyFileEntry, 1);
  e->key = g_strdup (key);
  e->value = value;
  e->line = line;
  g_ptr_array_add (kf->current->entries, e);
  return TRUE;
}

static void
lex_line (CgKeyFile *kf, const char *text, guint line)
{
  g_autofree char *copy = g_strdup (text);
  char *s = g_strchug (copy);
  gboolean ok;

  if (*s == '\0' || *s == '#' || *s == ';')
    return;
  ok = *s == '[' ? lex_group (kf, s, line) : lex_entry (kf, s, line);
  if (!ok) {
    g_autofree char *shown = echo_line (kf, text);
    cg_keyfile_fail (kf, line, "expected [group], key = value or a comment, got \"%s\"", shown);
  }
}

static void
lex_file (CgKeyFile *kf, const char *data, gsize len)
{
  const char *s = data, *end = data + len;

  if (len >= 3 && memcmp (s, "\xef\xbb\xbf", 3) == 0)   /* a UTF-8 byte order mark */
    s += 3;
  while (s < end) {
    const char *nl = memchr (s, '\n', end - s);
    gsize n = nl ? (gsize) (nl - s) : (gsize) (end - s);
    guint line = ++kf->n_lines;

    if (!g_utf8_validate (s, n, NULL)) {
      cg_keyfile_fail (kf, line, "not valid UTF-8 text: save the file as UTF-8");
    } else {
      g_autofree char *text = g_strndup (s, n > 0 && s[n - 1] == '\r' ? n - 1 : n);
      lex_line (kf, text, line);
    }
    s = nl ? nl + 1 : end;
  }
  if (kf->current)
    kf->current->end = kf->n_lines;
}

/* ---- the key file ------------------------------------------------------ */

CgKeyFile *
cg_keyfile_new_from_data (const char *data, gsize len, const char *path,
                          const CgKeyFileSyntax *syntax)
{
  CgKeyFile *kf = g_new0 (CgKeyFile, 1);

  kf->path = path;
  kf->syntax = syntax;
  kf->groups = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_keyfile_group_free);
  kf->warnings = g_ptr_array_new_with_free_func (g_free);
  lex_file (kf, data, len);
  return kf;
}

void
cg_keyfile_free (CgKeyFile *keyfile)
{
  if (!keyfile)
    return;
  g_ptr_array_unref (keyfile->groups);
  if (keyfile->warnings)
    g_ptr_array_unref (keyfile->warnings);
  g_clear_error (&keyfile->error);
  g_free (keyfile);
}

GPtrArray *
cg_keyfile_get_groups (CgKeyFile *keyfile)
{
  return keyfile->groups;
}

CgKeyFileGroup *
cg_keyfile_find_group (CgKeyFile *keyfile, const char *name)
{
  for (guint i = 0; i < keyfile->groups->len; i++) {
    CgKeyFileGroup *g = g_ptr_array_index (keyfile->groups, i);
    if (g_str_equal (g->name, name))
      return g;
  }
  return NULL;
}

CgKeyFileGroup *
cg_keyfile_group_new_absent (const char *name)
{
  CgKeyFileGroup *g = g_new0 (CgKeyFileGroup, 1);

  g->name = g_strdup (name);
  g->end = CG_KEYFILE_LAST_RANK;
  g->entries = g_ptr_array_new_with_free_func (entry_free);
  return g;
}

void
cg_keyfile_group_free (CgKeyFileGroup *group)
{
  if (!group)
    return;
  g_free (group->name);
  g_ptr_array_unref (group->entries);
  g_free (group);
}

/* ---- errors and warnings ----------------------------------------------- */

void
cg_keyfile_fail_late (CgKeyFile *keyfile, guint rank, guint line, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  report (keyfile, rank, line, format, args);
  va_end (args);
}

void
cg_keyfile_warn (CgKeyFile *keyfile, guint line, const char *format, ...)
{
  va_list args;
  g_autofree char *what = NULL;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (keyfile->warnings,
                   g_strdup_printf ("%s:%u: %s", keyfile->path, MAX (line, 1), what));
}

gboolean
cg_keyfile_check (CgKeyFile *keyfile, GError **error)
{
  if (!keyfile->error)
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&keyfile->error));
  return FALSE;
}

GPtrArray *
cg_keyfile_steal_warnings (CgKeyFile *keyfile)
{
  return g_steal_pointer (&keyfile->warnings);
}

/* ---- looking up entries ------------------------------------------------ */

CgKeyFileEntry *
cg_keyfile_take (CgKeyFileGroup *group, const char *key)
{
  CgKeyFileEntry *e = find_entry (group, key);

  if (e)
    e->used = TRUE;
  return e;
}

const char *
cg_keyfile_value (const CgKeyFileEntry *entry)
{
  return entry && *entry->value ? entry->value : NULL;
}

const char *
cg_keyfile_take_value (CgKeyFileGroup *group, const char *key)
{
  return cg_keyfile_value (cg_keyfile_take (group, key));
}

void
cg_keyfile_note (CgKeyFileGroup *group, const char *key, const char *text)
{
  CgKeyFileEntry *e = cg_keyfile_take (group, key);

  if (cg_keyfile_value (e))
    e->note = text;
}

void
cg_keyfile_warn_keys (CgKeyFile *keyfile, const CgKeyFileGroup *group)
{
  g_autofree char *shown = cg_keyfile_echo (group->name);

  for (guint i = 0; i < group->entries->len; i++) {
    const CgKeyFileEntry *e = g_ptr_array_index (group->entries, i);
    if (!e->used)
      cg_keyfile_warn (keyfile, e->line, "unknown key \"%s\" in [%s]: ignored", e->key, shown);
    else if (e->note)
      cg_keyfile_warn (keyfile, e->line, "%s%s", e->key, e->note);
  }
}

void
cg_keyfile_parse_enum (CgKeyFile *keyfile, const CgKeyFileEntry *entry,
                       const char *const *names, int *out)
{
  g_autoptr (GString) list = g_string_new (NULL);
  g_autofree char *shown = NULL;
  guint n = g_strv_length ((char **) names);

  if (!cg_keyfile_value (entry))
    return;
  for (guint i = 0; i < n; i++) {
    if (g_str_equal (entry->value, names[i])) {
      *out = i;
      return;
    }
    g_string_append_printf (list, "%s%s", i == 0 ? "" : i + 1 < n ? ", " : " or ", names[i]);
  }
  shown = cg_keyfile_echo (entry->value);
  cg_keyfile_fail (keyfile, entry->line, "%s = %s: expected %s", entry->key, shown, list->str);
}

char **
cg_keyfile_split_list (const char *value)
{
  g_auto (GStrv) items = g_strsplit (value ? value : "", ",", -1);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; items[i]; i++)
    if (*g_strstrip (items[i]))
      g_strv_builder_add (builder, items[i]);
  return g_strv_builder_end (builder);
}

/* ---- quoting ----------------------------------------------------------- */

char *
cg_keyfile_echo (const char *text)
{
  char *out;

  if (g_utf8_strlen (text, -1) > MAX_ECHO) {
    g_autofree char *head = g_utf8_substring (text, 0, MAX_ECHO);
    out = g_strconcat (head, "...", NULL);
  } else {
    out = g_strdup (text);
  }
  for (char *s = out; *s; s++)
    if ((guchar) *s < 0x20 || *s == 0x7f)
      *s = ' ';
  return out;
}

char *
cg_keyfile_mask_userinfo (const char *text)
{
  const char *scheme_end = strstr (text, "://");
  const char *at = scheme_end ? strrchr (scheme_end, '@') : NULL;

  if (!at)
    return g_strdup (text);
  return g_strdup_printf ("%.*s***%s", (int) (scheme_end + 3 - text), text, at);
}
