/* camgate error domain: every GError camgate raises carries CG_ERROR and one
 * of these codes, with a message that says what failed, on what, and what to do. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CG_ERROR (cg_error_quark ())

typedef enum {
  CG_ERROR_CONFIG,       /* the configuration file is invalid */
  CG_ERROR_IO,           /* a file or socket could not be read or written */
  CG_ERROR_PROTOCOL,     /* a peer answered something camgate cannot use */
  CG_ERROR_TLS,          /* a peer's TLS certificate does not verify */
} CgError;

GQuark cg_error_quark (void);

G_END_DECLS
