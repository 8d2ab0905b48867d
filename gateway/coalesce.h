/* One memory block per RTP packet on the uplink.
 *
 * Payloaders build a packet from several memory blocks (RTP header, FU
 * header, a slice of the access unit), and the RTSPS connection writes each
 * block of an interleaved packet as its own TLS record and send(): about four
 * records per packet. Copying a packet into one block first (about 1.4 kB)
 * halves the records and system calls and their per-record bytes on the wire;
 * see "The relay's hot path" in docs/performance.md. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* transfer full: @buffer itself when it has one memory block, else a new
 * buffer with its metadata and its bytes in one block */
GstBuffer *cg_coalesce_buffer (GstBuffer *buffer);
/* transfer full: @list, made writable, with every buffer coalesced */
GstBufferList *cg_coalesce_list (GstBufferList *list);
/* Coalesces every buffer and buffer list leaving @payloader from now on. */
void cg_coalesce_attach (GstElement *payloader);

G_END_DECLS
