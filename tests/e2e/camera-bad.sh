#!/bin/bash
# A camera that answers nonsense: bytes that are not RTSP, an SDP with no
# codec camgate relays, a 404, a SETUP without a usable Transport, an empty
# Session header, a body too large. For each, camgate stays up, the camera's
# last_error names what was wrong, and it keeps retrying (with backoff) until
# the camera behaves.
. "$(dirname "$0")/lib.sh"

require_world
world_up 1
make_certs

# The misbehaving camera: one answer per request, as the file "mode" says.
cat >"$CG_WORK/badcam.py" <<'EOF'
import socket, sys

addr, port, mode_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
SDP_H264 = ("v=0\r\no=- 1 1 IN IP4 %s\r\ns=bad\r\nt=0 0\r\n"
            "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:track1\r\n" % addr)
SDP_MJPEG = ("v=0\r\no=- 1 1 IN IP4 %s\r\ns=bad\r\nt=0 0\r\n"
             "m=video 0 RTP/AVP 26\r\na=control:track1\r\n" % addr)

def answer(mode, method, cseq):
    ok = "RTSP/1.0 200 OK\r\nCSeq: %s\r\n" % cseq
    if mode == "garbage":
        return b"\x16\x03\x01 HTTP/1.1 200 OK\r\n\r\n"
    if mode == "huge" and method == "DESCRIBE":
        return (ok + "Content-Length: 999999\r\n\r\n").encode()
    if method == "OPTIONS":
        return (ok + "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n").encode()
    if mode == "404":
        return ("RTSP/1.0 404 Stream Not Found\r\nCSeq: %s\r\n\r\n" % cseq).encode()
    if method == "DESCRIBE":
        sdp = SDP_MJPEG if mode == "no-codec" else SDP_H264
        return (ok + "Content-Base: rtsp://%s:%d/stream/\r\nContent-Type: application/sdp\r\n"
                "Content-Length: %d\r\n\r\n%s" % (addr, port, len(sdp), sdp)).encode()
    if method == "SETUP" and mode == "no-transport":
        return (ok + "Session: 1234\r\nTransport: \r\n\r\n").encode()
    if method == "SETUP" and mode == "no-session":
        return (ok + "Session:   \r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n").encode()
    return ("RTSP/1.0 551 Option Not Supported\r\nCSeq: %s\r\n\r\n" % cseq).encode()

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(8)
print("ready rtsp://%s:%d/stream" % (addr, port), flush=True)
while True:
    conn, _ = srv.accept()
    conn.settimeout(5)
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                data = conn.recv(4096)
                if not data:
                    raise EOFError
                buf += data
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method = lines[0].split(" ")[0]
            cseq = next((l.split(":", 1)[1].strip() for l in lines
                         if l.lower().startswith("cseq:")), "0")
            conn.sendall(answer(open(mode_file).read().strip(), method, cseq))
    except (EOFError, OSError):
        pass
    conn.close()
EOF

set_mode() { echo "$1" >"$CG_WORK/mode"; }
set_mode garbage
cg_spawn cam1 "$(ns cam1)" "$CG_WORK/cam1.out" "$CG_WORK/cam1.log" \
  /usr/bin/python3 "$CG_WORK/badcam.py" 10.20.0.11 "$CG_CAM_PORT" "$CG_WORK/mode"
cg_wait_line cam1 "$CG_WORK/cam1.out" '^ready rtsp://' 20

start_ingest --mount /live/cam1=h264
conf=$CG_WORK/camgate.conf
write_config "$conf"
add_camera "$conf" 1
start_camgate "$conf"

# camera_error_mentions ID REGEX: the camera's last_error matches REGEX.
camera_error_mentions() { camera_field "$1" last_error | grep -Eiq -- "$2"; }

# expect MODE REGEX: with the camera in MODE, cam1's last_error says REGEX.
expect() {
  set_mode "$1"
  wait_for "cam1 ($1) to say: $2" 40 camera_error_mentions cam1 "$2"
  note "$1: $(camera_field cam1 last_error)"
  expect_down cam1 "($1)"
  cg_check_running camgate
}

expect garbage 'the camera at 10\.20\.0\.11:[0-9]+ sent bytes that are not RTSP'
expect huge 'body of "999999" bytes'
expect no-codec 'offers no stream camgate relays'
expect 404 'has nothing at this path: check the url \(404 Stream Not Found\)'
expect no-transport 'empty Transport header'
expect no-session 'answered PLAY with "551 Option Not Supported"'

[ "$(uplink_state cam1)" != up ] || fail "the uplink is up though the camera never streamed"
[ "$(camera_field cam1 reconnects)" -ge 6 ] ||
  fail "cam1 reconnected $(camera_field cam1 reconnects) times, expected at least 6"
stop_camgate
stop_ingest
note "camera-bad: all checks passed"
