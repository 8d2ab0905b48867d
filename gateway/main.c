/* camgate: the command line. One binary, one subcommand per job:
 * run (the daemon), status, check and rules. */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <linux/netfilter.h>

#include "conntrack.h"
#include "control.h"
#include "daemon.h"
#include "error.h"
#include "apply.h"
#include "log.h"
#include "nft.h"
#include "ruleset.h"
#include "status.h"

#define EXIT_USAGE 2
#define EXIT_NO_DAEMON 3

#define EXIT_STATUS_TEXT \
  "Exit status:\n" \
  "  0  success\n" \
  "  1  the configuration is invalid, or the command failed\n" \
  "  2  the command line is wrong\n" \
  "  3  no daemon answers on the control socket (status)\n" \
  "  4  the daemon could not start (control socket, runtime_dir)\n"

static const char usage_text[] =
  "Usage: camgate COMMAND [OPTION...]\n"
  "\n"
  "Relays IP cameras to a cloud ingest over TLS (RTSPS) or WebRTC (WHIP) and seals them\n"
  "off the network.\n"
  "\n"
  "Commands:\n"
  "  run -c FILE                   run the daemon in the foreground\n"
  "  status [--json] [-c FILE]     show the state of the running daemon\n"
  "  check -c FILE                 validate a configuration file\n"
  "  rules apply|show|flush -c FILE  manage the isolation rules\n"
  "  rules allow --camera ID --from ADDR --minutes N [-c FILE]\n"
  "                                open a temporary hole to one camera\n"
  "\n"
  "  camgate COMMAND --help        options of one command\n"
  "  camgate --version             version, and the uplinks this build has\n"
  "\n"
  "The configuration defaults to " CG_DEFAULT_CONFIG_PATH ".\n"
  "\n" EXIT_STATUS_TEXT;

typedef struct {
  const char *name;
  const char *parameter;
  const char *summary;
  int (*run) (int argc, char **argv);
} Command;

static char *opt_config;
static gboolean opt_json;
static gboolean opt_verbose;
static char *opt_runtime_dir;
static char *opt_camera;
static char *opt_from;
static int opt_minutes;

static const GOptionEntry config_entry[] = {
  { "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
    "configuration file (default " CG_DEFAULT_CONFIG_PATH ")", "FILE" },
  { NULL }
};

/* Parses a subcommand's options; prints the error and returns FALSE on a bad
 * command line. Exits 0 after --help. */
static gboolean
parse_options (const Command *cmd, const GOptionEntry *extra, int *argc, char ***argv)
{
  g_autoptr (GOptionContext) ctx = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *param = g_strdup_printf ("%s%s%s", cmd->name,
                                            cmd->parameter ? " " : "",
                                            cmd->parameter ? cmd->parameter : "");

  ctx = g_option_context_new (param);
  g_option_context_set_summary (ctx, cmd->summary);
  g_option_context_set_description (ctx, EXIT_STATUS_TEXT);
  g_option_context_add_main_entries (ctx, config_entry, NULL);
  if (extra)
    g_option_context_add_main_entries (ctx, extra, NULL);
  if (!g_option_context_parse (ctx, argc, argv, &error)) {
    g_printerr ("camgate %s: %s\nTry 'camgate %s --help'.\n", cmd->name, error->message,
                cmd->name);
    return FALSE;
  }
  return TRUE;
}

static const char *
config_path (void)
{
  return opt_config ? opt_config : CG_DEFAULT_CONFIG_PATH;
}

static gboolean
no_arguments_left (const Command *cmd, int argc, char **argv)
{
  if (argc <= 1)
    return TRUE;
  g_printerr ("camgate %s: unexpected argument \"%s\"\nTry 'camgate %s --help'.\n", cmd->name,
              argv[1], cmd->name);
  return FALSE;
}

static int cmd_run (int argc, char **argv);
static int cmd_status (int argc, char **argv);
static int cmd_check (int argc, char **argv);
static int cmd_rules (int argc, char **argv);

static const Command commands[] = {
  { "run", NULL, "Runs the camgate daemon in the foreground (systemd and procd supervise it).\n"
    "SIGHUP reloads the configuration; SIGTERM stops cleanly.", cmd_run },
  { "status", NULL, "Shows the state of the running daemon, from its control socket\n"
    "(runtime_dir/control.sock; root only).", cmd_status },
  { "check", NULL, "Validates a configuration file without running anything: exit 0, or 1\n"
    "with FILE:LINE: message. Warnings (unknown keys, unsupported ones) go to stderr.",
    cmd_check },
  { "rules", "apply|show|flush|allow", "Applies the configuration's nftables isolation ruleset "
    "(table inet camgate,\nand table bridge camgate with port isolation when a camera_interface "
    "is a bridge),\nshows it with its per-camera counters, or removes it, without the daemon.\n"
    "The ruleset stays in the kernel until flushed, whether camgate runs or not.\n"
    "Under enforce, apply also cuts the connections the cameras had open before.\n"
    "\n"
    "allow --camera ID --from ADDR --minutes N opens a temporary hole: ADDR may reach\n"
    "camera ID (its web page, say) and the camera may answer, for N minutes (1 to 1440);\n"
    "the kernel closes it on time. Through the daemon when it runs (it logs the hole\n"
    "and shows it in status), else straight into the table in force.",
    cmd_rules },
};

static int
cmd_run (int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "also log debug messages", NULL },
    { NULL }
  };

  if (!parse_options (&commands[0], entries, &argc, &argv) ||
      !no_arguments_left (&commands[0], argc, argv))
    return EXIT_USAGE;
  cg_log_init (opt_verbose);
  return cg_daemon_run (config_path ());
}

static int
cmd_status (int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "print the status as JSON", NULL },
    { "runtime-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_runtime_dir,
      "the daemon's runtime_dir, instead of reading it from the configuration", "DIR" },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *text = NULL, *runtime_dir = NULL;

  if (!parse_options (&commands[1], entries, &argc, &argv) ||
      !no_arguments_left (&commands[1], argc, argv))
    return EXIT_USAGE;
  runtime_dir = opt_runtime_dir ? g_strdup (opt_runtime_dir)
                                : cg_config_read_runtime_dir (config_path (), &error);
  if (!runtime_dir) {
    g_printerr ("%s\n", error->message);
    return EXIT_FAILURE;
  }
  if (!(root = cg_control_request (runtime_dir, "status", &error))) {
    g_printerr ("camgate status: %s\n", error->message);
    return error->code == CG_ERROR_IO ? EXIT_NO_DAEMON : EXIT_FAILURE;
  }
  if (opt_json) {
    g_autoptr (JsonGenerator) gen = json_generator_new ();
    json_generator_set_root (gen, root);
    json_generator_set_pretty (gen, TRUE);
    text = json_generator_to_data (gen, NULL);
    g_print ("%s\n", text);
    return EXIT_SUCCESS;
  }
  if (!(text = cg_status_format_text (root, &error))) {
    g_printerr ("camgate status: %s\n", error->message);
    return EXIT_FAILURE;
  }
  g_print ("%s", text);
  return EXIT_SUCCESS;
}

static int
cmd_check (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgConfig) config = NULL;

  if (!parse_options (&commands[2], NULL, &argc, &argv) ||
      !no_arguments_left (&commands[2], argc, argv))
    return EXIT_USAGE;
  if (!(config = cg_config_load (config_path (), &error))) {
    g_printerr ("%s\n", error->message);
    return EXIT_FAILURE;
  }
  for (guint i = 0; i < config->warnings->len; i++)
    g_printerr ("%s\n", (const char *) g_ptr_array_index (config->warnings, i));
  g_print ("%s: OK, %u camera(s), uplink %s\n", config_path (), config->cameras->len,
           cg_uplink_kind_to_string (config->uplink.kind));
  return EXIT_SUCCESS;
}

static int
rules_apply (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgConfig) config = cg_config_load (config_path (), &error);
  g_autoptr (CgRulesSpec) spec = NULL;
  guint n_cut = 0;

  if (!config) {
    g_printerr ("%s\n", error->message);
    return EXIT_FAILURE;
  }
  if (config->isolation == CG_ISOLATION_OFF) {
    g_printerr ("camgate rules apply: %s has isolation = off: nothing to apply "
                "(set enforce or monitor)\n", config_path ());
    return EXIT_FAILURE;
  }
  spec = cg_rules_spec_from_config (config);
  if (!cg_rules_apply (spec, &error)) {
    g_printerr ("camgate rules apply: %s\n", error->message);
    return EXIT_FAILURE;
  }
  g_print ("table inet " CG_RULES_TABLE "%s applied (isolation = %s, %u camera address(es)); "
           "it stays until camgate rules flush\n",
           spec->bridges->len ? " and table bridge " CG_RULES_TABLE : "",
           cg_isolation_mode_to_string (config->isolation), spec->cameras->len);
  /* monitor must break nothing: only enforce cuts what was open before. */
  if (config->isolation != CG_ISOLATION_ENFORCE)
    return EXIT_SUCCESS;
  if (!cg_conntrack_cut (spec, &n_cut, &error)) {
    g_printerr ("camgate rules apply: the table is in force, but the cameras' connections "
                "opened before it may still be open (%u cut): %s\n", n_cut, error->message);
    return EXIT_FAILURE;
  }
  g_print ("cut %u connection(s) the cameras had open before the seal\n", n_cut);
  return EXIT_SUCCESS;
}

static int
rules_show (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = cg_nft_show (&error);

  if (!text) {
    g_printerr ("camgate rules show: %s\n", error->message);
    return EXIT_FAILURE;
  }
  g_print ("%s", text);
  return EXIT_SUCCESS;
}

static int
rules_flush (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgConfig) config = cg_config_load (config_path (), &error);

  /* The configuration names the bridges whose ports lose their isolation. */
  if (!config) {
    g_printerr ("%s\n", error->message);
    return EXIT_FAILURE;
  }
  if (!cg_rules_flush (config->camera_interfaces, &error)) {
    g_printerr ("camgate rules flush: %s\n", error->message);
    return EXIT_FAILURE;
  }
  g_print ("table inet " CG_RULES_TABLE " and table bridge " CG_RULES_TABLE " removed, "
           "bridge port isolation off: the cameras are no longer sealed off\n");
  return EXIT_SUCCESS;
}

static void
print_hole (JsonObject *hole)
{
  g_print ("hole open: %s may reach camera %s (%s), and the camera answer it, until %s "
           "(%" G_GINT64_FORMAT " s)\n", json_object_get_string_member (hole, "from"),
           json_object_get_string_member (hole, "camera"),
           json_object_get_string_member (hole, "camera_address"),
           json_object_get_string_member (hole, "expires"),
           json_object_get_int_member (hole, "expires_in_s"));
}

/* No daemon runs: the hole goes straight into the table in force. */
static int
allow_without_daemon (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgConfig) config = cg_config_load (config_path (), &error);
  g_autoptr (CgRulesSpec) spec = NULL;
  g_autoptr (CgRulesHole) hole = NULL;
  g_autoptr (GBytes) batch = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) until = NULL;
  g_autofree char *until_text = NULL;
  gboolean exists = FALSE;

  if (!config) {
    g_printerr ("%s\n", error->message);
    return EXIT_FAILURE;
  }
  spec = cg_rules_spec_from_config (config);
  if (!(hole = cg_rules_hole_new (spec, opt_camera, opt_from, (guint) opt_minutes, &error)) ||
      !cg_nft_table_exists (NFPROTO_INET, &exists, &error)) {
    g_printerr ("camgate rules allow: %s\n", error->message);
    return EXIT_FAILURE;
  }
  if (!exists) {
    g_printerr ("camgate rules allow: table inet " CG_RULES_TABLE " is not in force: there is "
                "no seal to open a hole in\n");
    return EXIT_FAILURE;
  }
  batch = cg_ruleset_build_hole (hole, (guint32) g_get_real_time ());
  if (!cg_nft_apply (batch, &error)) {
    g_printerr ("camgate rules allow: %s\n", error->message);
    return EXIT_FAILURE;
  }
  until = g_date_time_add_minutes (now, opt_minutes);
  until_text = g_date_time_format_iso8601 (until);
  g_print ("hole open: %s may reach camera %s, and the camera answer it, until %s "
           "(no camgate daemon runs: camgate adopts the hole when it starts)\n",
           opt_from, opt_camera, until_text);
  return EXIT_SUCCESS;
}

static int
rules_allow (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) answer = NULL;
  g_autofree char *runtime_dir = NULL, *request = NULL;
  JsonObject *o;

  if (!opt_camera || !opt_from || opt_minutes <= 0) {
    g_printerr ("camgate rules allow: --camera, --from and --minutes (above 0) are required\n"
                "Try 'camgate rules --help'.\n");
    return EXIT_USAGE;
  }
  if (strchr (opt_camera, ' ') || strchr (opt_from, ' ')) {
    g_printerr ("camgate rules allow: --camera and --from take one word each\n");
    return EXIT_USAGE;
  }
  if (!(runtime_dir = cg_config_read_runtime_dir (config_path (), &error))) {
    g_printerr ("%s\n", error->message);
    return EXIT_FAILURE;
  }
  request = g_strdup_printf (CG_CONTROL_ALLOW " %s %s %d", opt_camera, opt_from, opt_minutes);
  if (!(answer = cg_control_request (runtime_dir, request, &error))) {
    if (error->code == CG_ERROR_IO)
      return allow_without_daemon ();
    g_printerr ("camgate rules allow: %s\n", error->message);
    return EXIT_FAILURE;
  }
  o = JSON_NODE_HOLDS_OBJECT (answer) ? json_node_get_object (answer) : NULL;
  if (!o || json_object_has_member (o, "error") || !json_object_has_member (o, "from")) {
    g_printerr ("camgate rules allow: %s\n", o && json_object_has_member (o, "error")
                ? json_object_get_string_member (o, "error") : "the daemon's answer is no hole");
    return EXIT_FAILURE;
  }
  print_hole (o);
  return EXIT_SUCCESS;
}

static int
cmd_rules (int argc, char **argv)
{
  const GOptionEntry entries[] = {
    { "camera", 0, 0, G_OPTION_ARG_STRING, &opt_camera, "allow: the camera's id", "ID" },
    { "from", 0, 0, G_OPTION_ARG_STRING, &opt_from,
      "allow: the address that may reach it", "ADDR" },
    { "minutes", 0, 0, G_OPTION_ARG_INT, &opt_minutes, "allow: how long the hole stays open",
      "N" },
    { NULL }
  };

  if (!parse_options (&commands[3], entries, &argc, &argv))
    return EXIT_USAGE;
  if (argc != 2 ||
      !g_strv_contains ((const char *const[]) { "apply", "show", "flush", "allow", NULL },
                        argv[1])) {
    g_printerr ("camgate rules: expected apply, show, flush or allow\n"
                "Try 'camgate rules --help'.\n");
    return EXIT_USAGE;
  }
  if (!g_str_equal (argv[1], "allow") && (opt_camera || opt_from || opt_minutes)) {
    g_printerr ("camgate rules %s: --camera, --from and --minutes belong to allow\n"
                "Try 'camgate rules --help'.\n", argv[1]);
    return EXIT_USAGE;
  }
  if (g_str_equal (argv[1], "allow"))
    return rules_allow ();
  if (g_str_equal (argv[1], "apply"))
    return rules_apply ();
  if (g_str_equal (argv[1], "show"))
    return rules_show ();
  return rules_flush ();
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  /* The box talks to its cameras and to one configured ingest: no proxy
   * auto-discovery (libproxy would look for WPAD on the site's network). */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", FALSE);
  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") ||
      g_str_equal (argv[1], "help")) {
    fputs (usage_text, argc < 2 ? stderr : stdout);
    return argc < 2 ? EXIT_USAGE : EXIT_SUCCESS;
  }
  if (g_str_equal (argv[1], "--version")) {
#ifdef CG_WITH_WEBRTC
    g_print ("camgate %s\nuplinks: rtsps whip\n", PACKAGE_VERSION);
#else
    g_print ("camgate %s\nuplinks: rtsps (built without WebRTC: no whip)\n", PACKAGE_VERSION);
#endif
    return EXIT_SUCCESS;
  }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++) {
    if (g_str_equal (argv[1], commands[i].name)) {
      /* The subcommand parses its options as if it were the program. */
      g_autofree char *prog = g_strdup_printf ("camgate %s", commands[i].name);
      g_set_prgname (prog);
      return commands[i].run (argc - 1, argv + 1);
    }
  }
  g_printerr ("camgate: unknown command \"%s\"\n\n%s", argv[1], usage_text);
  return EXIT_USAGE;
}
