/* The configuration parser: the documented example, defaults, syntax, every
 * error with its "FILE:LINE: " prefix, warnings, credentials and secrets. */
#include "config.h"
#include "error.h"

#include <glib/gstdio.h>
#include <string.h>

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif
#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif

#define PATH "camgate.conf"
#define MARKER "Sekr3tMarker"

/* Lines 1-6 of most test files; errors appended from line 7 on. */
#define GATEWAY "[gateway]\ncamera_interface = eth1\n"
#define UPLINK "[uplink]\nurl = rtsps://ingest.example.net/live/{camera}\n"
#define CAMERA "[camera cam1]\nurl = rtsp://10.0.0.1/s\n"
#define BASE GATEWAY UPLINK CAMERA

/* openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes
 *   -days 36500 -subj /CN=test */
static const char test_ca_pem[] =
  "-----BEGIN CERTIFICATE-----\n"
  "MIIBdjCCARugAwIBAgIUbpoVsply3chdnk6JhJHlDTH8AQowCgYIKoZIzj0EAwIw\n"
  "DzENMAsGA1UEAwwEdGVzdDAgFw0yNjExMjMwOTAwNTVaGA8yMTI2MTAzMDA5MDA1\n"
  "NVowDzENMAsGA1UEAwwEdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNWM\n"
  "5rcayUP81+Sy87CUNVQXZ2fQp6g/QAPJQwVeXZxk0tg4f6ucc2HDtYUFJAGEYk2M\n"
  "pwFAI366HkGYTJKCS4ujUzBRMB0GA1UdDgQWBBTOJK5eNjdMrs+4eIDbFT32wuQE\n"
  "DDAfBgNVHSMEGDAWgBTOJK5eNjdMrs+4eIDbFT32wuQEDDAPBgNVHRMBAf8EBTAD\n"
  "AQH/MAoGCCqGSM49BAMCA0kAMEYCIQCtBJfCdmopHnEVf45OLm8NVnAb2mPcxcSV\n"
  "qWhl88HvOgIhAKxz9kMO8dg8wwQxHOWZknanS/b3Cx9uc65gO3RWzIwK\n"
  "-----END CERTIFICATE-----\n";

/* A temporary directory with ca.pem (valid) and junk.pem (no certificate). */
typedef struct {
  char *dir;
  char *ca;
  char *junk;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("test-config-XXXXXX", &error);
  g_assert_no_error (error);
  f->ca = g_build_filename (f->dir, "ca.pem", NULL);
  f->junk = g_build_filename (f->dir, "junk.pem", NULL);
  g_file_set_contents (f->ca, test_ca_pem, -1, &error);
  g_assert_no_error (error);
  g_file_set_contents (f->junk, "not a certificate\n", -1, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
  g_assert_cmpint (g_unlink (f->ca), ==, 0);
  g_assert_cmpint (g_unlink (f->junk), ==, 0);
  g_assert_cmpint (g_rmdir (f->dir), ==, 0);
  g_free (f->ca);
  g_free (f->junk);
  g_free (f->dir);
}

static CgConfig *
load (const char *text, GError **error)
{
  return cg_config_load_from_data (text, strlen (text), PATH, error);
}

static CgConfig *
load_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  CgConfig *config = load (text, &error);

  g_assert_no_error (error);
  g_assert_nonnull (config);
  return config;
}

/* @text must fail with a message starting "camgate.conf:LINE: " (@prefix)
 * and containing @phrase. transfer full: the message */
static char *
load_error (const char *text, const char *prefix, const char *phrase)
{
  g_autoptr (GError) error = NULL;
  CgConfig *config = load (text, &error);

  g_assert_null (config);
  g_assert_error (error, CG_ERROR, CG_ERROR_CONFIG);
  g_test_message ("%s", error->message);
  if (!g_str_has_prefix (error->message, prefix) || !strstr (error->message, phrase))
    g_error ("expected \"%s...%s...\", got \"%s\"", prefix, phrase, error->message);
  return g_strdup (error->message);
}

static void
assert_error (const char *text, const char *prefix, const char *phrase)
{
  g_free (load_error (text, prefix, phrase));
}

static void
assert_warnings (const CgConfig *config, const char *const *expected)
{
  guint n = g_strv_length ((char **) expected);

  for (guint i = 0; i < MIN (n, config->warnings->len); i++)
    g_assert_cmpstr (g_ptr_array_index (config->warnings, i), ==, expected[i]);
  g_assert_cmpuint (config->warnings->len, ==, n);
}

/* ---- valid files ---------------------------------------------------------- */

/* DESIGN.md's example, with kind = rtsps and a real CA file. */
static const char example[] =
  "[gateway]\n"
  "name = shop-42\n"
  "state_dir = /var/lib/camgate       # keys, spool, admin credential\n"
  "runtime_dir = /run/camgate         # control socket\n"
  "camera_interface = eth1            # NIC(s), VLAN(s) or bridge; comma-separated\n"
  "admin_listen = 0.0.0.0:8443        # installer UI (HTTPS); never served to camera_interface\n"
  "isolation = enforce                # enforce | monitor | off\n"
  "\n"
  "[uplink]\n"
  "kind = rtsps                       # rtsps | whip\n"                                /* 10 */
  "url = rtsps://ingest.example.net:8322/live/{camera}     # {camera} = camera id\n"
  "ca_file = %s                   # trust anchors; empty = system store\n"
  "username =                         # optional RTSP auth toward the ingest\n"
  "password =\n"
  "token =                            # WHIP bearer token\n"
  "ice_servers = turns://user:pass@turn.example.net:443    # WHIP: comma-separated\n"
  "ice_transport_policy = all         # all | relay\n"
  "aac = opus                         # WHIP only: opus | drop\n"
  "\n"
  "[spool]                            # (planned) store-and-forward\n"                /* 20 */
  "max_mb = 2048                      # per box\n"
  "sync_ms = 1000\n"
  "backfill_url = https://ingest.example.net/backfill/{camera}/{start}.ts\n"
  "backfill_kbps = 2000\n"
  "\n"
  "[control]                          # (planned) fleet control\n"
  "url = mqtts://broker.example.net:8883\n"
  "claim_url = https://service.example.net/claim\n"
  "\n"
  "[camera front-door]                # camera id: [a-z0-9_-]{1,32}\n"               /* 30 */
  "url = rtsp://10.20.0.11:554/stream1\n"
  "username = admin\n"
  "password = secret\n"
  "transport = tcp                    # tcp | udp\n"
  "substream_url = rtsp://10.20.0.11:554/stream2   # (planned)\n"
  "priority = 1                       # (planned) lower is more important\n";

static void
test_example (Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
  g_autofree char *text = g_strdup_printf (example, f->ca);
  g_autoptr (CgConfig) c = load_ok (text);
  const CgCameraConfig *cam;
  const char *const warnings[] = {
    PATH ":6: admin_listen: the installer web UI is not part of this build yet: ignored",
    PATH ":16: ice_servers is a WHIP setting: ignored with kind = rtsps",
    PATH ":17: ice_transport_policy is a WHIP setting: ignored with kind = rtsps",
    PATH ":18: aac is a WHIP setting: ignored with kind = rtsps",
    PATH ":20: [spool] is not supported yet: ignored",
    PATH ":26: [control] is not supported yet: ignored",
    PATH ":35: substream_url is not supported yet: ignored",
    PATH ":36: priority is not supported yet: ignored",
    NULL
  };

  g_assert_cmpstr (c->path, ==, PATH);
  g_assert_cmpstr (c->name, ==, "shop-42");
  g_assert_cmpstr (c->state_dir, ==, "/var/lib/camgate");
  g_assert_cmpstr (c->runtime_dir, ==, "/run/camgate");
  g_assert_cmpuint (g_strv_length (c->camera_interfaces), ==, 1);
  g_assert_cmpstr (c->camera_interfaces[0], ==, "eth1");
  g_assert_cmpstr (c->admin_listen, ==, "0.0.0.0:8443");
  g_assert_cmpint (c->isolation, ==, CG_ISOLATION_ENFORCE);
  g_assert_cmpint (c->uplink.kind, ==, CG_UPLINK_RTSPS);
  g_assert_cmpstr (c->uplink.url, ==, "rtsps://ingest.example.net:8322/live/{camera}");
  g_assert_cmpstr (c->uplink.ca_file, ==, f->ca);
  g_assert_null (c->uplink.username);
  g_assert_null (c->uplink.password);
  g_assert_null (c->uplink.token);
  g_assert_nonnull (c->uplink.ice_servers);
  g_assert_null (c->uplink.ice_servers[0]);      /* WHIP only: ignored */
  g_assert_false (c->uplink.ice_relay_only);
  g_assert_true (c->uplink.aac_to_opus);
  g_assert_cmpuint (c->cameras->len, ==, 1);
  cam = g_ptr_array_index (c->cameras, 0);
  g_assert_true (cam == cg_config_find_camera (c, "front-door"));
  g_assert_null (cg_config_find_camera (c, "back-door"));
  g_assert_cmpstr (cam->id, ==, "front-door");
  g_assert_cmpstr (cam->url, ==, "rtsp://10.20.0.11:554/stream1");
  g_assert_cmpstr (cam->username, ==, "admin");
  g_assert_cmpstr (cam->password, ==, "secret");
  g_assert_cmpint (cam->transport, ==, CG_TRANSPORT_TCP);
  g_assert_cmpuint (cam->line, ==, 30);
  assert_warnings (c, warnings);
}

static void
test_defaults (void)
{
  g_autoptr (CgConfig) c = load_ok (GATEWAY UPLINK);
  g_autoptr (CgConfig) off = load_ok ("[gateway]\nisolation = off\n" UPLINK);
  const char *const warnings[] = {
    PATH ":1: no cameras configured: add a [camera ID] group for each camera", NULL
  };

  g_assert_cmpstr (c->name, ==, g_get_host_name ());
  g_assert_cmpstr (c->state_dir, ==, LOCALSTATEDIR "/lib/camgate");
  g_assert_cmpstr (c->runtime_dir, ==, RUNSTATEDIR "/camgate");
  g_assert_cmpstr (c->admin_listen, ==, "0.0.0.0:8443");
  g_assert_cmpint (c->isolation, ==, CG_ISOLATION_ENFORCE);
  g_assert_cmpuint (c->gop_cache_kbytes, ==, 8192);
  g_assert_cmpint (c->uplink.kind, ==, CG_UPLINK_RTSPS);
  g_assert_null (c->uplink.ca_file);
  g_assert_null (c->uplink.username);
  g_assert_null (c->uplink.token);
  g_assert_null (c->uplink.ice_servers[0]);
  g_assert_false (c->uplink.ice_relay_only);
  g_assert_true (c->uplink.aac_to_opus);
  g_assert_cmpuint (c->cameras->len, ==, 0);
  assert_warnings (c, warnings);
  /* isolation = off: camera_interface may be empty */
  g_assert_cmpint (off->isolation, ==, CG_ISOLATION_OFF);
  g_assert_null (off->camera_interfaces[0]);
  /* without [gateway], isolation is enforce and camera_interface missing */
  assert_error (UPLINK, PATH ":1: camera_interface is required unless isolation = off", "eth1");
}

static void
test_syntax (void)
{
  g_autoptr (CgConfig) c = load_ok (
    "\xef\xbb\xbf# a comment\r\n"
    "  ; another comment\n"
    "\t\n"
    "  [ gateway ]   # header comment\n"
    "name=\\sa\\#b#c \\\\ d\\te\\nf\\r   # inline comment\n"
    "state_dir = /srv/x#y\n"
    "camera_interface = eth1 , vlan20,,br-cam   \n"
    "isolation = monitor\n"
    "[uplink]\n"
    "url = rtsps://h/{camera}\n"
    "username =   # empty: as if absent\n"
    "[camera\t  cam1]\r\n"
    "url = rtsp://10.0.0.1/s\r\n"
    "transport = udp");

  g_assert_cmpstr (c->name, ==, " a#b#c \\ d\te\nf\r");
  g_assert_cmpstr (c->state_dir, ==, "/srv/x#y");
  g_assert_cmpuint (g_strv_length (c->camera_interfaces), ==, 3);
  g_assert_cmpstr (c->camera_interfaces[0], ==, "eth1");
  g_assert_cmpstr (c->camera_interfaces[1], ==, "vlan20");
  g_assert_cmpstr (c->camera_interfaces[2], ==, "br-cam");
  g_assert_cmpint (c->isolation, ==, CG_ISOLATION_MONITOR);
  g_assert_null (c->uplink.username);
  g_assert_nonnull (cg_config_find_camera (c, "cam1"));
  g_assert_cmpstr (cg_config_find_camera (c, "cam1")->url, ==, "rtsp://10.0.0.1/s");
  g_assert_cmpint (cg_config_find_camera (c, "cam1")->transport, ==, CG_TRANSPORT_UDP);
  g_assert_cmpuint (cg_config_find_camera (c, "cam1")->line, ==, 12);
  g_assert_cmpuint (c->warnings->len, ==, 0);
}

static void
test_load_file (Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
  g_autofree char *path = g_build_filename (f->dir, "camgate.conf", NULL);
  g_autofree char *prefix = g_strconcat (path, ":7: ", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CgConfig) c = NULL;

  c = cg_config_load ("/nonexistent/camgate.conf", &error);
  g_assert_null (c);
  g_assert_error (error, CG_ERROR, CG_ERROR_CONFIG);
  g_assert_true (g_str_has_prefix (error->message, "/nonexistent/camgate.conf: cannot be read: "));
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (path, BASE "oops\n", -1, NULL));
  g_assert_null (cg_config_load (path, &error));
  g_assert_true (g_str_has_prefix (error->message, prefix));
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (path, BASE, -1, NULL));
  c = cg_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (c->path, ==, path);
  g_assert_cmpuint (c->cameras->len, ==, 1);
  g_assert_cmpint (g_unlink (path), ==, 0);
}

/* `camgate status` finds the daemon even when the file on disk was edited into
 * an invalid state since the daemon loaded it. */
static void
test_read_runtime_dir (Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
  g_autofree char *path = g_build_filename (f->dir, "camgate.conf", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL, *fallback = NULL;

  g_assert_true (g_file_set_contents (path, "[gateway]\nruntime_dir = /tmp/cg-run   # here\n"
                                      "[camera Bad Id]\nurl = nope\n", -1, NULL));
  g_assert_null (cg_config_load (path, NULL));
  dir = cg_config_read_runtime_dir (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (dir, ==, "/tmp/cg-run");
  g_assert_true (g_file_set_contents (path, "this is not a key file\n", -1, NULL));
  fallback = cg_config_read_runtime_dir (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (fallback, ==, RUNSTATEDIR "/camgate");
  g_assert_null (cg_config_read_runtime_dir ("/nonexistent/camgate.conf", &error));
  g_assert_error (error, CG_ERROR, CG_ERROR_CONFIG);
  g_assert_cmpint (g_unlink (path), ==, 0);
}

/* ---- errors --------------------------------------------------------------- */

static void
test_error_lines (void)
{
  g_autofree char *long_line = g_strnfill (100, 'x');
  g_autofree char *text = g_strconcat (BASE, long_line, "\n", NULL);
  g_autofree char *msg = NULL;

  assert_error (BASE "this is not a key\n", PATH ":7: ",
                "expected [group], key = value or a comment, got \"this is not a key\"");
  msg = load_error (text, PATH ":7: ", "expected [group], key = value or a comment");
  g_assert_nonnull (strstr (msg, "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\""));   /* 40 */
  assert_error (BASE "[unclosed\n", PATH ":7: ", "expected [group]");
  assert_error (BASE "[]\n", PATH ":7: ", "expected [group]");
  assert_error (BASE "[gateway] extra\n", PATH ":7: ", "expected [group]");
  assert_error (BASE "bad key = 1\n", PATH ":7: ", "got \"bad key = ...\"");
  assert_error ("url = rtsp://x/\n" BASE, PATH ":1: ",
                "key \"url\" is outside any group: put it under [gateway]");
  assert_error (BASE "transport = udp\ntransport = tcp\n", PATH ":8: ",
                "duplicate key \"transport\" in [camera cam1]: first set on line 7");
  assert_error (BASE "[camera  cam1]\nurl = rtsp://10.0.0.2/s\n", PATH ":7: ",
                "duplicate group [camera cam1]: first on line 5");
  assert_error (BASE "[gateway]\n", PATH ":7: ", "duplicate group [gateway]: first on line 1");
  assert_error (BASE "name = \xff\xfe\n", PATH ":7: ", "not valid UTF-8");
  assert_error ("[gateway]\nname = a\\qb\n", PATH ":2: ", "invalid backslash escape in the "
                "value of name: use \\s, \\n, \\t, \\r, \\\\ or \\#");
  assert_error ("[gateway]\nname = ab\\\n", PATH ":2: ", "invalid backslash escape");
}

/* Only the first error in file order is reported. */
static void
test_first_error (void)
{
  /* a meaning error (line 2) before a syntax error (line 7) */
  assert_error ("[gateway]\nisolation = block\n" UPLINK CAMERA "junk\n", PATH ":2: ",
                "isolation = block");
  /* a syntax error in a group before that group is found to miss its url */
  assert_error (BASE "[camera cam2]\nurl rtsp://10.0.0.2/s\n", PATH ":8: ",
                "expected [group]");
  /* the missing url is named at the header line */
  assert_error (BASE "[camera cam2]\ntransport = udp\n[camera cam3]\nurl = rtsp://h/\n",
                PATH ":7: ", "url is required");
  /* {camera} is only found missing at the second camera: the syntax error before wins */
  assert_error (GATEWAY "[uplink]\nurl = rtsps://h/live\n" CAMERA "junk\n[camera cam2]\n"
                "url = rtsp://10.0.0.2/s\n", PATH ":7: ", "expected [group]");
  /* two errors in one group: the earlier line */
  assert_error (GATEWAY "[uplink]\nkind = bogus\nurl = http://x/\n" CAMERA, PATH ":4: ",
                "kind = bogus: expected rtsps or whip");
}

static void
test_error_gateway (void)
{
  assert_error ("[gateway]\ncamera_interface = eth1\nisolation = block\n" UPLINK,
                PATH ":3: ", "isolation = block: expected enforce, monitor or off");
  assert_error ("[gateway]\nname = x\n" UPLINK CAMERA, PATH ":1: ",
                "camera_interface is required unless isolation = off");
  assert_error ("[gateway]\ncamera_interface = eth1, eth1/x\n" UPLINK, PATH ":2: ",
                "camera_interface \"eth1/x\" is invalid");
  assert_error ("[gateway]\ncamera_interface = eth1:0\n" UPLINK, PATH ":2: ", "is invalid");
  assert_error ("[gateway]\ncamera_interface = abcdefghijklmnop\n" UPLINK, PATH ":2: ",
                "1 to 15 characters");
  assert_error (GATEWAY "state_dir = var/lib\n" UPLINK, PATH ":3: ",
                "state_dir must be an absolute path");
  assert_error (GATEWAY "runtime_dir = run\n" UPLINK, PATH ":3: ",
                "runtime_dir must be an absolute path");
}

static void
test_gop_cache (void)
{
  const char *valid[] = { "0", "1", "8192", "262144", NULL };
  const guint kbytes[] = { 0, 1, 8192, 262144 };
  const char *invalid[] = { "-1", "262145", "8M", "8 MiB", "1.5", "0x10", "99999999999999999999",
                            NULL };

  for (guint i = 0; valid[i]; i++) {
    g_autofree char *text = g_strdup_printf (GATEWAY "gop_cache_kbytes = %s\n" UPLINK,
                                             valid[i]);
    g_autoptr (CgConfig) c = load_ok (text);
    g_assert_cmpuint (c->gop_cache_kbytes, ==, kbytes[i]);
  }
  for (guint i = 0; invalid[i]; i++) {
    g_autofree char *text = g_strdup_printf (GATEWAY "gop_cache_kbytes = %s\n" UPLINK,
                                             invalid[i]);
    g_autofree char *phrase = g_strdup_printf ("gop_cache_kbytes = %s: expected a whole number "
                                               "of kilobytes from 0 (no cache) to 262144",
                                               invalid[i]);
    assert_error (text, PATH ":3: ", phrase);
  }
  /* an empty value is the default */
  {
    g_autoptr (CgConfig) c = load_ok (GATEWAY "gop_cache_kbytes =\n" UPLINK);
    g_assert_cmpuint (c->gop_cache_kbytes, ==, 8192);
  }
}

static void
test_admin_listen (void)
{
  const char *valid[] = { "0.0.0.0:8443", "[::1]:8443", "[fe80::1]:1", "box.local:65535",
                          "192.168.1.2:443", NULL };
  const char *invalid[] = { "8443", "0.0.0.0", ":8443", "::1:8443", "[::1]8443", "[]:8443",
                            "[1.2.3.4]:80", "h:0", "h:65536", "h:80x", "a b:80", NULL };

  for (guint i = 0; valid[i]; i++) {
    g_autofree char *text = g_strdup_printf (GATEWAY "admin_listen = %s\n" UPLINK, valid[i]);
    g_autoptr (CgConfig) c = load_ok (text);
    g_assert_cmpstr (c->admin_listen, ==, valid[i]);
    g_assert_cmpstr (g_ptr_array_index (c->warnings, 0), ==, PATH ":3: admin_listen: the "
                     "installer web UI is not part of this build yet: ignored");
  }
  for (guint i = 0; invalid[i]; i++) {
    g_autofree char *text = g_strdup_printf (GATEWAY "admin_listen = %s\n" UPLINK, invalid[i]);
    g_autofree char *phrase = g_strdup_printf ("admin_listen = %s: expected HOST:PORT",
                                               invalid[i]);
    assert_error (text, PATH ":3: ", phrase);
  }
}

static void
test_error_uplink (void)
{
  assert_error (GATEWAY CAMERA, PATH ":1: ", "[uplink] is missing");
  assert_error (GATEWAY "[uplink]\nkind = rtsps\n" CAMERA, PATH ":3: ", "url is required");
  assert_error (GATEWAY "[uplink]\nurl =\n" CAMERA, PATH ":4: ", "url is required");
  assert_error (GATEWAY "[uplink]\nurl = rtsp://h/{camera}\n", PATH ":4: ",
                "camgate never pushes video in clear text; use rtsps://");
  assert_error (GATEWAY "[uplink]\nurl = https://h/{camera}\n", PATH ":4: ",
                "url scheme \"https\" is not supported: use rtsps://");
  assert_error (GATEWAY "[uplink]\nurl = ingest.example.net\n", PATH ":4: ", "is not a URL");
  assert_error (GATEWAY "[uplink]\nurl = rtsps://h/{cam}\n", PATH ":4: ",
                "unknown placeholder {cam} in url: only {camera} is supported");
  assert_error (GATEWAY "[uplink]\nurl = rtsps://h/{camera\n", PATH ":4: ", "unbalanced {");
  assert_error (GATEWAY "[uplink]\nurl = rtsps:///live/{camera}\n", PATH ":4: ", "has no host");
  assert_error (GATEWAY "[uplink]\nurl = rtsps://h:99999/{camera}\n", PATH ":4: ",
                "url cannot be parsed: bad port");
  assert_error (GATEWAY "[uplink]\nurl = rtsps://h/live\n" CAMERA "[camera cam2]\n"
                "url = rtsp://10.0.0.2/s\n", PATH ":4: ",
                "url has no {camera}: every camera would push to the same path");
  assert_error (GATEWAY "[uplink]\nurl = rtsps://h/{camera}\nusername = u\n", PATH ":5: ",
                "username is set but password is not: set both or neither");
  assert_error (GATEWAY "[uplink]\nurl = rtsps://h/{camera}\npassword = p\n", PATH ":5: ",
                "password is set but username is not");
  assert_error (GATEWAY UPLINK "ice_servers = stun:s.example.net, turn://u:p@t:1, http://x\n",
                PATH ":5: ", "ice_servers: entry 3 must start with stun:, turn: or turns:");
  assert_error (GATEWAY UPLINK "ice_servers = turn://t.example.net\n", PATH ":5: ",
                "ice_servers: entry 1 is a TURN server without a user name and password");
  assert_error (GATEWAY UPLINK "ice_servers = stun:s.example.net:0\n", PATH ":5: ",
                "ice_servers: entry 1 is not a usable stun URL: the port must be");
  assert_error (GATEWAY UPLINK "ice_transport_policy = some\n", PATH ":5: ",
                "ice_transport_policy = some: expected all or relay");
  assert_error (GATEWAY UPLINK "aac = mp3\n", PATH ":5: ", "aac = mp3: expected drop or opus");
}

#define WHIP_UPLINK "[uplink]\nkind = whip\nurl = https://whip.example.net/whip/{camera}\n"

#ifdef CG_WITH_WEBRTC
static void
test_whip_uplink (void)
{
  g_autoptr (CgConfig) c = load_ok (GATEWAY WHIP_UPLINK "token = t0k\n"
                                    "ice_servers = stun:s.example.net, turn://u:p@t.example.net?transport=tcp\n"
                                    "ice_transport_policy = relay\naac = drop\n" CAMERA);

  g_assert_cmpint (c->uplink.kind, ==, CG_UPLINK_WHIP);
  g_assert_cmpstr (c->uplink.url, ==, "https://whip.example.net/whip/{camera}");
  g_assert_cmpstr (c->uplink.token, ==, "t0k");
  g_assert_cmpuint (g_strv_length (c->uplink.ice_servers), ==, 2);
  g_assert_true (c->uplink.ice_relay_only);
  g_assert_false (c->uplink.aac_to_opus);
  g_assert_cmpuint (c->warnings->len, ==, 0);

  assert_error (GATEWAY "[uplink]\nkind = whip\nurl = http://h/whip/{camera}\n", PATH ":5: ",
                "url is http://: the token and the session would go in clear text; use https://");
  assert_error (GATEWAY "[uplink]\nkind = whip\nurl = rtsps://h/{camera}\n", PATH ":5: ",
                "url scheme \"rtsps\" is not supported: use https://HOST[:PORT]/PATH");
  assert_error (GATEWAY WHIP_UPLINK "ice_servers = turns://u:p@t.example.net, "
                "turn://u:p@t2.example.net?transport=tcp\n", PATH ":6: ",
                "ice_servers: entry 2 (turn: over TCP) cannot go with entry 1 (turns:)");
}

/* TURN over TLS, beside TURN over UDP (which libnice sends without the proxy). */
static void
test_whip_turns (void)
{
  g_autoptr (CgConfig) c = load_ok (GATEWAY WHIP_UPLINK
                                    "ice_servers = turns://u:p@t.example.net:443, "
                                    "turn://u:p@t.example.net?transport=udp\n" CAMERA);

  g_assert_cmpuint (g_strv_length (c->uplink.ice_servers), ==, 2);
  g_assert_cmpstr (c->uplink.ice_servers[0], ==, "turns://u:p@t.example.net:443");
  g_assert_cmpuint (c->warnings->len, ==, 0);
}
#else
static void
test_whip_uplink (void)
{
  assert_error (GATEWAY WHIP_UPLINK CAMERA, PATH ":4: ", "kind = whip: this camgate was built "
                "without WebRTC (configure --enable-webrtc); use kind = rtsps");
}
#endif

static void
test_one_camera_needs_no_placeholder (void)
{
  g_autoptr (CgConfig) c = load_ok (GATEWAY "[uplink]\nurl = rtsps://h/live\n" CAMERA);

  g_assert_cmpstr (c->uplink.url, ==, "rtsps://h/live");
}

static void
test_ca_file (Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
  g_autofree char *missing = g_build_filename (f->dir, "missing.pem", NULL);
  g_autofree char *t1 = g_strdup_printf (GATEWAY UPLINK "ca_file = %s\n" CAMERA, missing);
  g_autofree char *t2 = g_strdup_printf (GATEWAY UPLINK "ca_file = %s\n" CAMERA, f->junk);
  g_autofree char *phrase1 = g_strdup_printf ("ca_file %s: cannot be read: ", missing);
  g_autofree char *phrase2 = g_strdup_printf ("ca_file %s: cannot be read: ", f->junk);
  g_autofree char *t3 = g_strdup_printf (GATEWAY UPLINK "ca_file = %s\n" CAMERA, f->ca);
  g_autoptr (CgConfig) c = NULL;

  assert_error (t1, PATH ":5: ", phrase1);
  assert_error (t2, PATH ":5: ", phrase2);
  c = load_ok (t3);
  g_assert_cmpstr (c->uplink.ca_file, ==, f->ca);
}

static void
test_error_camera (void)
{
  assert_error (GATEWAY UPLINK "[camera Front Door]\nurl = rtsp://h/\n", PATH ":5: ",
                "camera id \"Front Door\" is invalid: use 1 to 32 of a-z, 0-9, '_' and '-'");
  assert_error (GATEWAY UPLINK "[camera abcdefghijklmnopqrstuvwxyz0123456]\nurl = rtsp://h/\n",
                PATH ":5: ", "is invalid");
  assert_error (GATEWAY UPLINK "[camera]\nurl = rtsp://h/\n", PATH ":5: ",
                "[camera] has no id: write [camera ID]");
  assert_error (GATEWAY UPLINK "[camera cam1]\ntransport = tcp\n", PATH ":5: ",
                "url is required");
  assert_error (GATEWAY UPLINK "[camera cam1]\nurl = http://h/s\n", PATH ":6: ",
                "url scheme \"http\" is not supported: use rtsp://");
  assert_error (GATEWAY UPLINK "[camera cam1]\nurl = rtsp:///s\n", PATH ":6: ", "has no host");
  assert_error (GATEWAY UPLINK "[camera cam1]\nurl = rtsp://h/%zz\n", PATH ":6: ",
                "url cannot be parsed");
  assert_error (GATEWAY UPLINK "[camera cam1]\nurl = rtsp://u:p%zz@h/\n", PATH ":6: ",
                "bad %-escape");
  assert_error (BASE "transport = sctp\n", PATH ":7: ",
                "transport = sctp: expected tcp or udp");
}

/* ---- warnings, credentials, secrets --------------------------------------- */

static void
test_warnings (void)
{
  g_autoptr (CgConfig) c = load_ok (
    "[gateway]\n"
    "camera_interface = eth1\n"
    "foo = 1\n"
    "[uplink]\n"
    "url = rtsps://h/{camera}\n"
    "aac = drop\n"
    "token = t\n"
    "token2 = t\n"
    "[spool]\n"                                              /* 9 */
    "max_mb = 1\n"
    "[extras]\n"
    "x = 1\n"
    "[camera cam1]\n"                                        /* 13 */
    "priority = 2\n"
    "url = rtsp://h/\n"
    "substream_url =\n"                                      /* empty: as if absent */
    "URL = rtsp://h/\n");
  const char *const warnings[] = {
    PATH ":3: unknown key \"foo\" in [gateway]: ignored",
    PATH ":6: aac is a WHIP setting: ignored with kind = rtsps",
    PATH ":7: token is a WHIP setting: ignored with kind = rtsps",
    PATH ":8: unknown key \"token2\" in [uplink]: ignored",
    PATH ":9: [spool] is not supported yet: ignored",
    PATH ":11: unknown group [extras]: ignored",
    PATH ":14: priority is not supported yet: ignored",
    PATH ":17: unknown key \"URL\" in [camera cam1]: ignored",
    NULL
  };

  assert_warnings (c, warnings);
  g_assert_null (c->uplink.token);
  g_assert_true (c->uplink.aac_to_opus);    /* ignored: the default stays */
}

static void
test_credentials_from_url (void)
{
  g_autoptr (CgConfig) c = load_ok (
    GATEWAY
    "[uplink]\nurl = rtsps://pusher:p%40ss@ingest.example.net:8322/live/{camera}\n"
    "[camera cam1]\nurl = rtsp://ad%3Amin:s%2Fcr%40t@10.0.0.1:554/s?x=1\n"
    "[camera cam2]\nurl = rtsp://admin:frompass@10.0.0.2/s\nusername = keyuser\n"
    "[camera cam3]\nurl = rtsp://admin:frompass@10.0.0.3/s\nusername = k\npassword = kp\n"
    "[camera cam4]\nurl = rtsp://onlyuser@10.0.0.4/s\n");
  const CgCameraConfig *cam;

  g_assert_cmpstr (c->uplink.url, ==, "rtsps://ingest.example.net:8322/live/{camera}");
  g_assert_cmpstr (c->uplink.username, ==, "pusher");
  g_assert_cmpstr (c->uplink.password, ==, "p@ss");
  cam = cg_config_find_camera (c, "cam1");
  g_assert_cmpstr (cam->url, ==, "rtsp://10.0.0.1:554/s?x=1");
  g_assert_cmpstr (cam->username, ==, "ad:min");
  g_assert_cmpstr (cam->password, ==, "s/cr@t");
  cam = cg_config_find_camera (c, "cam2");           /* a key wins, per field */
  g_assert_cmpstr (cam->url, ==, "rtsp://10.0.0.2/s");
  g_assert_cmpstr (cam->username, ==, "keyuser");
  g_assert_cmpstr (cam->password, ==, "frompass");
  cam = cg_config_find_camera (c, "cam3");
  g_assert_cmpstr (cam->username, ==, "k");
  g_assert_cmpstr (cam->password, ==, "kp");
  cam = cg_config_find_camera (c, "cam4");
  g_assert_cmpstr (cam->url, ==, "rtsp://10.0.0.4/s");
  g_assert_cmpstr (cam->username, ==, "onlyuser");
  g_assert_null (cam->password);
}

static void
test_url_redact (void)
{
  const char *cases[][2] = {
    { "rtsp://admin:secret@10.0.0.1:554/s", "rtsp://10.0.0.1:554/s" },
    { "rtsps://user@h/live/{camera}", "rtsps://h/live/{camera}" },
    { "rtsp://10.0.0.1/s?a=b", "rtsp://10.0.0.1/s?a=b" },
    { "rtsp://u:pa/ss@h:bad/x", "rtsp://***@h:bad/x" },        /* unparsable */
    { "rtsp://h:bad/x", "rtsp://h:bad/x" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *redacted = cg_url_redact (cases[i][0]);
    g_assert_cmpstr (redacted, ==, cases[i][1]);
  }
}

/* Each file holds MARKER as a secret and has an error: no message shows it. */
static void
test_secrets_never_shown (void)
{
  const char *files[] = {
    BASE "password " MARKER "\n",
    BASE "url rtsp://admin:" MARKER "@10.0.0.1/s\n",
    BASE "pass word = " MARKER "\n",
    BASE "password = " MARKER "\\q\n",
    BASE "password = " MARKER "\npassword = " MARKER "\n",
    GATEWAY "[uplink]\nurl = rtsps://h/{camera}\npassword = " MARKER "\n" CAMERA,
    GATEWAY "[uplink]\nurl = rtsps://u:" MARKER "@h/{cam}\n" CAMERA,
    GATEWAY "[uplink]\nurl = rtsp://u:" MARKER "@h/{camera}\n" CAMERA,
    GATEWAY "[uplink]\nurl = rtsps://u:" MARKER "@/{camera}\n" CAMERA,
    GATEWAY UPLINK "token = " MARKER "\nice_servers = turn:u:" MARKER "@h, x" MARKER "\n",
    GATEWAY UPLINK "[camera cam1]\nurl = rtsp://u:" MARKER "%zz@h/\n",
    GATEWAY UPLINK "[camera cam1]\nurl = rtsp://u:" MARKER "/x@h:bad/\n",
    GATEWAY UPLINK "[camera cam1]\nurl = rtsp://u:" MARKER "@h:99999/\n",
    GATEWAY UPLINK "[camera cam1]\nurl = rtsp://u:" MARKER "@h/\npassword = " MARKER "\nfoo\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree char *msg = load_error (files[i], PATH ":", "");
    if (strstr (msg, MARKER))
      g_error ("file %u: the secret is in \"%s\"", i, msg);
  }
}

static void
test_secrets_not_in_warnings (void)
{
  g_autoptr (CgConfig) c = load_ok (
    GATEWAY
    "[uplink]\nurl = rtsps://u:" MARKER "@h/{camera}\ntoken = " MARKER "\n"
    "ice_servers = turns://u:" MARKER "@t.example.net:443\n"
    "[camera cam1]\nurl = rtsp://admin:" MARKER "@10.0.0.1/s\n"
    "[camera cam2]\nurl = rtsp://10.0.0.2/s\npassword = " MARKER "\n"
    "substream_url = rtsp://u:" MARKER "@10.0.0.2/s2\n");

  g_assert_cmpuint (c->warnings->len, ==, 3);
  for (guint i = 0; i < c->warnings->len; i++)
    g_assert_null (strstr (g_ptr_array_index (c->warnings, i), MARKER));
  g_assert_cmpstr (cg_config_find_camera (c, "cam1")->password, ==, MARKER);
  g_assert_null (strstr (c->uplink.url, MARKER));
}

/* ---- helpers -------------------------------------------------------------- */

static void
test_url_expand (void)
{
  struct { const char *tmpl, *expected, *error; } cases[] = {
    { "rtsps://h/live/{camera}", "rtsps://h/live/cam1", NULL },
    { "rtsps://h/{camera}/{camera}.sdp", "rtsps://h/cam1/cam1.sdp", NULL },
    { "rtsps://h/live", "rtsps://h/live", NULL },
    { "", "", NULL },
    { "rtsps://h/{cam}", NULL, "unknown placeholder {cam} in url: only {camera} is supported" },
    { "rtsps://h/{}", NULL, "unknown placeholder {} in url: only {camera} is supported" },
    { "rtsps://h/{camera", NULL, "unbalanced { in url: the only placeholder is {camera}" },
    { "rtsps://h/camera}", NULL, "unbalanced } in url: the only placeholder is {camera}" },
    { "rtsps://h/{{camera}}", NULL, "unbalanced { in url: the only placeholder is {camera}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    g_autofree char *url = cg_url_expand (cases[i].tmpl, "cam1", &error);
    if (cases[i].expected) {
      g_assert_no_error (error);
      g_assert_cmpstr (url, ==, cases[i].expected);
    } else {
      g_assert_null (url);
      g_assert_error (error, CG_ERROR, CG_ERROR_CONFIG);
      g_assert_cmpstr (error->message, ==, cases[i].error);
    }
  }
}

static void
test_camera_id (void)
{
  g_assert_true (cg_camera_id_is_valid ("front-door_2"));
  g_assert_true (cg_camera_id_is_valid ("a"));
  g_assert_true (cg_camera_id_is_valid ("abcdefghijklmnopqrstuvwxyz012345"));   /* 32 */
  g_assert_false (cg_camera_id_is_valid ("abcdefghijklmnopqrstuvwxyz0123456"));
  g_assert_false (cg_camera_id_is_valid (""));
  g_assert_false (cg_camera_id_is_valid (NULL));
  g_assert_false (cg_camera_id_is_valid ("Front"));
  g_assert_false (cg_camera_id_is_valid ("front door"));
  g_assert_false (cg_camera_id_is_valid ("a/b"));
  g_assert_false (cg_camera_id_is_valid ("caf\xc3\xa9"));
}

static void
test_to_string (void)
{
  g_assert_cmpstr (cg_isolation_mode_to_string (CG_ISOLATION_ENFORCE), ==, "enforce");
  g_assert_cmpstr (cg_isolation_mode_to_string (CG_ISOLATION_MONITOR), ==, "monitor");
  g_assert_cmpstr (cg_isolation_mode_to_string (CG_ISOLATION_OFF), ==, "off");
  g_assert_cmpstr (cg_uplink_kind_to_string (CG_UPLINK_RTSPS), ==, "rtsps");
  g_assert_cmpstr (cg_uplink_kind_to_string (CG_UPLINK_WHIP), ==, "whip");
}

static void
test_camera_equal (void)
{
  g_autoptr (CgConfig) a = load_ok (BASE "[camera cam2]\nurl = rtsp://u:p@10.0.0.2/s\n");
  /* cam2 moved before cam1: a different line, the same camera */
  g_autoptr (CgConfig) b = load_ok (GATEWAY UPLINK "[camera cam2]\nurl = rtsp://10.0.0.2/s\n"
                                    "username = u\npassword = p\n" CAMERA);
  const CgCameraConfig *a1 = cg_config_find_camera (a, "cam1");
  const CgCameraConfig *a2 = cg_config_find_camera (a, "cam2");
  CgCameraConfig copy = *a2;

  g_assert_true (cg_camera_config_equal (a1, cg_config_find_camera (b, "cam1")));
  g_assert_true (cg_camera_config_equal (a2, cg_config_find_camera (b, "cam2")));
  g_assert_cmpuint (a2->line, !=, cg_config_find_camera (b, "cam2")->line);
  g_assert_false (cg_camera_config_equal (a1, a2));
  copy.password = (char *) "other";
  g_assert_false (cg_camera_config_equal (a2, &copy));
  copy = *a2;
  copy.username = NULL;
  g_assert_false (cg_camera_config_equal (a2, &copy));
  copy = *a2;
  copy.transport = CG_TRANSPORT_UDP;
  g_assert_false (cg_camera_config_equal (a2, &copy));
  copy = *a2;
  copy.url = (char *) "rtsp://10.0.0.2/t";
  g_assert_false (cg_camera_config_equal (a2, &copy));
  copy = *a2;
  copy.id = (char *) "cam3";
  g_assert_false (cg_camera_config_equal (a2, &copy));
}

static void
test_uplink_equal (void)
{
  g_autoptr (CgConfig) a = load_ok (GATEWAY UPLINK "username = u\npassword = p\n");
  g_autoptr (CgConfig) b = load_ok (GATEWAY "[uplink]\n"
                                    "url = rtsps://u:p@ingest.example.net/live/{camera}\n");
  const CgUplinkConfig *u = &a->uplink;
  CgUplinkConfig copy = *u;
  char *servers[] = { (char *) "stun:s", NULL };
  const char *const cameras[] = { "eth1", NULL };
  char *others[] = { (char *) "eth2", NULL };

  g_assert_true (cg_uplink_config_equal (u, &b->uplink));
  g_assert_true (cg_uplink_config_equal (u, &copy));
  copy.url = (char *) "rtsps://other/{camera}";
  g_assert_false (cg_uplink_config_equal (u, &copy));
  copy = *u;
  copy.ca_file = (char *) "/etc/ca.pem";
  g_assert_false (cg_uplink_config_equal (u, &copy));
  copy = *u;
  copy.password = (char *) "q";
  g_assert_false (cg_uplink_config_equal (u, &copy));
  copy = *u;
  copy.username = NULL;
  g_assert_false (cg_uplink_config_equal (u, &copy));
  copy = *u;
  copy.kind = CG_UPLINK_WHIP;
  g_assert_false (cg_uplink_config_equal (u, &copy));
  copy = *u;
  copy.token = (char *) "t";
  g_assert_false (cg_uplink_config_equal (u, &copy));
  copy = *u;
  copy.ice_servers = servers;
  g_assert_false (cg_uplink_config_equal (u, &copy));
  copy.ice_servers = NULL;                /* NULL and empty are the same list */
  g_assert_true (cg_uplink_config_equal (u, &copy));
  copy = *u;
  copy.ice_relay_only = TRUE;
  g_assert_false (cg_uplink_config_equal (u, &copy));
  copy = *u;
  copy.aac_to_opus = FALSE;
  g_assert_false (cg_uplink_config_equal (u, &copy));
  /* [gateway] camera_interface, where WHIP gathers no ICE candidate */
  g_assert_cmpstrv ((const char *const *) u->camera_interfaces, cameras);
  copy = *u;
  copy.camera_interfaces = others;
  g_assert_false (cg_uplink_config_equal (u, &copy));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/config/example", Fixture, NULL, fixture_set_up, test_example,
              fixture_tear_down);
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add_func ("/config/syntax", test_syntax);
  g_test_add ("/config/load-file", Fixture, NULL, fixture_set_up, test_load_file,
              fixture_tear_down);
  g_test_add_func ("/config/error/lines", test_error_lines);
  g_test_add_func ("/config/error/first", test_first_error);
  g_test_add_func ("/config/error/gateway", test_error_gateway);
  g_test_add_func ("/config/error/admin-listen", test_admin_listen);
  g_test_add_func ("/config/gop-cache", test_gop_cache);
  g_test_add_func ("/config/error/uplink", test_error_uplink);
  g_test_add_func ("/config/uplink/whip", test_whip_uplink);
#ifdef CG_WITH_WEBRTC
  g_test_add_func ("/config/uplink/whip-turns", test_whip_turns);
#endif
  g_test_add ("/config/error/ca-file", Fixture, NULL, fixture_set_up, test_ca_file,
              fixture_tear_down);
  g_test_add_func ("/config/error/camera", test_error_camera);
  g_test_add_func ("/config/uplink/one-camera-no-placeholder",
                   test_one_camera_needs_no_placeholder);
  g_test_add_func ("/config/warnings", test_warnings);
  g_test_add_func ("/config/credentials-from-url", test_credentials_from_url);
  g_test_add_func ("/config/url-redact", test_url_redact);
  g_test_add_func ("/config/secrets/errors", test_secrets_never_shown);
  g_test_add_func ("/config/secrets/warnings", test_secrets_not_in_warnings);
  g_test_add_func ("/config/url-expand", test_url_expand);
  g_test_add_func ("/config/camera-id", test_camera_id);
  g_test_add ("/config/read-runtime-dir", Fixture, NULL, fixture_set_up, test_read_runtime_dir,
              fixture_tear_down);
  g_test_add_func ("/config/to-string", test_to_string);
  g_test_add_func ("/config/equal/camera", test_camera_equal);
  g_test_add_func ("/config/equal/uplink", test_uplink_equal);
  return g_test_run ();
}
