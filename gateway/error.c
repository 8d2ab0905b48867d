/* The camgate error domain. */
#include "error.h"

G_DEFINE_QUARK (camgate-error-quark, cg_error)
