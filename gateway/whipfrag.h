/* Trickle ICE for the WHIP uplink (RFC 9725 section 4.3, RFC 8840): the
 * application/trickle-ice-sdpfrag body of a PATCH that hands the ingest
 * candidates gathered after the offer went out. Pure: unit-tested in
 * tests/unit/test-whip.c, and built without WebRTC too. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The sdpfrag for @candidates (element-type utf8, "candidate:..." as
 * webrtcbin gives them, all of @offer's first m= section: max-bundle),
 * ending with "a=end-of-candidates" when @end: @offer's ICE credentials
 * (a=ice-ufrag, a=ice-pwd), its first m= line and a=mid, then one
 * a=candidate line each. NULL if @offer has no m= section, mid or ICE
 * credentials. transfer full */
char *cg_whip_sdpfrag (const char *offer, GPtrArray *candidates, gboolean end);

G_END_DECLS
