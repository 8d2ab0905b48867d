/* One configured camera: its source, its hub (GOP cache and fan-out) and its
 * uplink. The uplink session follows the camera's format: it survives camera
 * reconnects and is replaced only when the codecs change. */
#pragma once

#include "config.h"
#include "source.h"
#include "uplink.h"

G_BEGIN_DECLS

typedef struct _CgCamera CgCamera;

/* @config is copied; @uplink_config is only read here. @gop_cache_bytes bounds
 * the GOP cache (0: none). */
CgCamera *cg_camera_new (const CgCameraConfig *config, const CgUplinkConfig *uplink_config,
                         gsize gop_cache_bytes);
void cg_camera_start (CgCamera *camera);
void cg_camera_free (CgCamera *camera);

const CgCameraConfig *cg_camera_get_config (CgCamera *camera);
/* Replaces the uplink (the [uplink] section changed). */
void cg_camera_set_uplink (CgCamera *camera, const CgUplinkConfig *uplink_config);

void cg_camera_get_stats (CgCamera *camera, CgSourceStats *source, CgUplinkStats *uplink);
/* A new bound for the GOP cache ([gateway] gop_cache_kbytes changed on reload). */
void cg_camera_set_gop_cache (CgCamera *camera, gsize gop_cache_bytes);
void cg_camera_get_cache_stats (CgCamera *camera, CgHubCacheStats *stats);

G_END_DECLS
