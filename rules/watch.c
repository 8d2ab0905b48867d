/* Watching camgate's tables (see watch.h).
 *
 * A committed nftables transaction sends one notification per object it
 * created or deleted to the NFNLGRP_NFTABLES group, then NFT_MSG_NEWGEN with
 * the process that committed it (NFTA_GEN_PROC_PID, NFTA_GEN_PROC_NAME;
 * the pid is the committing thread's). The watch notes which of camgate's
 * tables the transaction's objects belong to and, at its NEWGEN, calls back
 * unless a thread of this process committed it: camgate's own applies never
 * call back. The kernel gives that pid as the initial PID namespace sees it:
 * in a PID namespace of its own, camgate would take its own commits for
 * another process's (the daemon then restores at most once a second).
 * Packets that update a dynamic set (`update @violations4`) and elements
 * that time out send no NEWGEN (tests/e2e/tamper.sh checks that no restore
 * follows them).
 *
 * The socket is non-blocking and read from a GSource until it is empty.
 * When the kernel has to drop events (ENOBUFS), nobody can tell what they
 * were, so the watch calls back as if camgate's tables had been altered. */
#define G_LOG_DOMAIN "camgate-rules"

#include "watch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "error.h"
#include "ruleset.h"

/* A `nft flush ruleset` of a big table sends one event per rule, set and
 * element: room for thousands before the kernel drops any. */
#define DEFAULT_RCVBUF_BYTES (8 * 1024 * 1024)
/* One notification is at most NLMSG_GOODSIZE (a page or two). */
#define READ_BUFFER_BYTES (64 * 1024)

/* The tables camgate owns, by family: bits of CgWatch.touched. */
enum {
  TABLE_INET = 1 << 0,
  TABLE_BRIDGE = 1 << 1,
};

struct _CgWatch {
  struct mnl_socket *nl;
  GSource *source;
  CgWatchFunc func;
  gpointer user_data;
  guint touched;                /* camgate's tables the current transaction changed */
  guint deleted;                /* ... and those it deleted */
  char buf[READ_BUFFER_BYTES];
};

/* The attribute holding the table's name in a notification of @type, or 0
 * for a notification that is not about an object in a table. */
static guint16
table_attribute (guint16 type)
{
  switch (type) {
  case NFT_MSG_NEWTABLE:
  case NFT_MSG_DELTABLE:
    return NFTA_TABLE_NAME;
  case NFT_MSG_NEWCHAIN:
  case NFT_MSG_DELCHAIN:
    return NFTA_CHAIN_TABLE;
  case NFT_MSG_NEWRULE:
  case NFT_MSG_DELRULE:
    return NFTA_RULE_TABLE;
  case NFT_MSG_NEWSET:
  case NFT_MSG_DELSET:
    return NFTA_SET_TABLE;
  case NFT_MSG_NEWSETELEM:
  case NFT_MSG_DELSETELEM:
    return NFTA_SET_ELEM_LIST_TABLE;
  case NFT_MSG_NEWOBJ:
  case NFT_MSG_DELOBJ:
    return NFTA_OBJ_TABLE;
  case NFT_MSG_NEWFLOWTABLE:
  case NFT_MSG_DELFLOWTABLE:
    return NFTA_FLOWTABLE_TABLE;
  default:
    return 0;
  }
}

/* The top-level attribute @type of an nftables message, or NULL. */
static const struct nlattr *
find_attribute (const struct nlmsghdr *nlh, guint16 type)
{
  const struct nlattr *attr;

  mnl_attr_for_each (attr, nlh, sizeof (struct nfgenmsg))
    if (mnl_attr_get_type (attr) == type)
      return attr;
  return NULL;
}

static guint
table_bit (guint8 family)
{
  switch (family) {
  case NFPROTO_INET:
    return TABLE_INET;
  case NFPROTO_BRIDGE:
    return TABLE_BRIDGE;
  default:
    return 0;
  }
}

/* TRUE if thread @pid belongs to this process. */
static gboolean
is_own_thread (guint32 pid)
{
  g_autofree char *task = NULL;

  if (pid == (guint32) getpid ())
    return TRUE;
  task = g_strdup_printf ("/proc/self/task/%u", pid);
  return g_file_test (task, G_FILE_TEST_EXISTS);
}

/* "table inet camgate was deleted", "tables inet camgate and bridge camgate
 * were altered". transfer full */
static char *
describe_tables (guint touched, guint deleted)
{
  gboolean both = touched == (TABLE_INET | TABLE_BRIDGE);

  return g_strdup_printf ("%s%s%s%s %s %s", both ? "tables " : "table ",
                          touched & TABLE_INET ? "inet " CG_RULES_TABLE : "",
                          both ? " and " : "",
                          touched & TABLE_BRIDGE ? "bridge " CG_RULES_TABLE : "",
                          both ? "were" : "was", deleted == touched ? "deleted" : "altered");
}

/* The end of a transaction: calls back if another process changed camgate's tables. */
static void
on_new_generation (CgWatch *watch, const struct nlmsghdr *nlh)
{
  const struct nlattr *pid_attr = find_attribute (nlh, NFTA_GEN_PROC_PID);
  const struct nlattr *name_attr = find_attribute (nlh, NFTA_GEN_PROC_NAME);
  guint touched = watch->touched, deleted = watch->deleted;
  guint32 pid;
  g_autofree char *tables = NULL, *what = NULL;

  watch->touched = watch->deleted = 0;
  if (!touched)
    return;
  /* Without a pid (no kernel camgate supports omits it) nobody can tell. */
  pid = pid_attr && mnl_attr_validate (pid_attr, MNL_TYPE_U32) >= 0
      ? ntohl (mnl_attr_get_u32 (pid_attr)) : 0;
  if (pid != 0 && is_own_thread (pid))
    return;
  tables = describe_tables (touched, deleted);
  what = g_strdup_printf ("%s by %s (pid %u)", tables,
                          name_attr && mnl_attr_validate (name_attr, MNL_TYPE_NUL_STRING) >= 0
                          ? mnl_attr_get_str (name_attr) : "an unknown process", pid);
  watch->func (what, watch->user_data);
}

static void
on_event (CgWatch *watch, const struct nlmsghdr *nlh)
{
  const struct nfgenmsg *nfg = mnl_nlmsg_get_payload (nlh);
  guint16 type = NFNL_MSG_TYPE (nlh->nlmsg_type);
  const struct nlattr *name;
  guint16 attr;
  guint bit;

  if (NFNL_SUBSYS_ID (nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
      nlh->nlmsg_len < NLMSG_LENGTH (sizeof *nfg))
    return;
  if (type == NFT_MSG_NEWGEN) {
    on_new_generation (watch, nlh);
    return;
  }
  if (!(attr = table_attribute (type)) || !(bit = table_bit (nfg->nfgen_family)))
    return;
  name = find_attribute (nlh, attr);
  if (!name || mnl_attr_validate (name, MNL_TYPE_NUL_STRING) < 0 ||
      !g_str_equal (mnl_attr_get_str (name), CG_RULES_TABLE))
    return;
  watch->touched |= bit;
  if (type == NFT_MSG_DELTABLE)
    watch->deleted |= bit;
}

static gboolean
on_readable (int fd, GIOCondition condition, gpointer data)
{
  CgWatch *watch = data;

  for (;;) {
    ssize_t n = recv (fd, watch->buf, sizeof watch->buf, MSG_DONTWAIT);

    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == ENOBUFS) {
      /* What was dropped is unknown: the transaction under way too. */
      watch->touched = watch->deleted = 0;
      watch->func ("events about table " CG_RULES_TABLE " were lost (receive buffer overrun)",
                   watch->user_data);
      continue;
    }
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        g_warning ("cannot read nftables events: %s", g_strerror (errno));
      break;
    }
    const struct nlmsghdr *nlh = (const struct nlmsghdr *) watch->buf;
    int left = n;
    for (; mnl_nlmsg_ok (nlh, left); nlh = mnl_nlmsg_next (nlh, &left))
      on_event (watch, nlh);
  }
  return G_SOURCE_CONTINUE;
}

CgWatch *
cg_watch_new (CgWatchFunc func, gpointer user_data, GError **error)
{
  g_autoptr (CgWatch) watch = g_new0 (CgWatch, 1);
  int group = NFNLGRP_NFTABLES, rcvbuf = DEFAULT_RCVBUF_BYTES, fd;

  watch->func = func;
  watch->user_data = user_data;
  watch->nl = mnl_socket_open2 (NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (!watch->nl || mnl_socket_bind (watch->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
      mnl_socket_setsockopt (watch->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
    int err = errno;
    g_set_error (error, CG_ERROR, CG_ERROR_IO,
                 "cannot watch nftables for changes to table %s: %s%s", CG_RULES_TABLE,
                 g_strerror (err), err == EPERM ? " (camgate needs CAP_NET_ADMIN)" : "");
    return NULL;
  }
  fd = mnl_socket_get_fd (watch->nl);
  /* Beyond net.core.rmem_max only with CAP_NET_ADMIN, which camgate has. */
  if (setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
    setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  watch->source = g_unix_fd_source_new (fd, G_IO_IN | G_IO_ERR);
  g_source_set_callback (watch->source, G_SOURCE_FUNC (on_readable), watch, NULL);
  g_source_set_static_name (watch->source, "camgate nftables watch");
  g_source_attach (watch->source, g_main_context_get_thread_default ());
  return g_steal_pointer (&watch);
}

void
cg_watch_free (CgWatch *watch)
{
  if (!watch)
    return;
  if (watch->source) {
    g_source_destroy (watch->source);
    g_source_unref (watch->source);
  }
  if (watch->nl)
    mnl_socket_close (watch->nl);
  g_free (watch);
}
