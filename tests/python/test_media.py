"""Native-client proof: the LiveKit Python SDK (libwebrtc inside, standing in for the
mobile SDKs) publishes video, audio and data through vroom, and a second Python client
receives them. Runs the real `vroom serve` binary; send traffic only to loopback (the test
script runs it in a network namespace of its own).

What arrives is checked, not only that something does: libwebrtc's receive path conceals
lost audio (frames come out even when no packet arrives) and the decoder outputs frames at
any rate. So over a settled window the receiver must see the tone that was sent (its energy
and its frequency), video at a real frame rate, and the colours that were sent where they
were sent.

Run: VROOM_BIN=target/debug/vroom .venv/bin/python -m pytest tests/python -q
"""

import asyncio
import math
import os
import time

import numpy as np
import pytest
from livekit import rtc

from conftest import call, running_vroom

WIDTH, HEIGHT = 640, 360
FPS = 15
SAMPLE_RATE = 48000
TONE_HZ = 440
TONE_AMPLITUDE = 8000  # int16 peak, about -12 dBFS
TONE_RMS = TONE_AMPLITUDE / math.sqrt(2)  # 5657; silence is 0
# Thresholds, with margin for a busy 2-core machine (measured there: 14.2-15.2 fps, colour
# error <= 8 of 255, RMS 5596-5661, peak 439.9-440.1 Hz, >= 99.8 % of the energy at it).
MIN_FPS = 9  # of the picture sent, of FPS; a stream of 1-5 fps fails
COLOUR_TOLERANCE = 40  # per channel, of 255: VP8 is lossy; the colours sent differ by >= 160
SETTLE_S = 2.0  # after the first frame of both tracks: the encoder's start-up ramp
WINDOW_S = 4.0  # the window measured
# libwebrtc gathers no candidates on loopback: the test script gives its namespace a dummy
# interface with this address (traffic to it never leaves the namespace).
NODE_IP = os.environ.get("VROOM_TEST_NODE_IP", "127.0.0.1")

# Four quadrants of known colours (RGB), not too saturated so that the YUV round trip does
# not clip; the bottom band moves so that every frame has something new to encode.
QUADRANTS = {  # (row, column) -> colour
    (0, 0): (200, 40, 40),
    (0, 1): (40, 200, 40),
    (1, 0): (40, 40, 200),
    (1, 1): (220, 220, 60),
}


@pytest.fixture
def vroom():
    with running_vroom("--node-ip", NODE_IP) as base:
        yield base


def credentials(base):
    """Two members, a room, and each one's media credentials, through the real APIs."""
    dev = "devkey:devsecret"
    _, alice = call(base, "POST", "/v2/apps/me/members/login", {"appUserId": "alice", "appUserName": "Alice"}, basic=dev)
    _, bob = call(base, "POST", "/v2/apps/me/members/login", {"appUserId": "bob"}, basic=dev)
    status, room = call(base, "POST", "/v2/members/me/video-rooms", {"title": "py"}, bearer=alice["accessToken"])
    assert status == 201
    creds = []
    for who in (alice, bob):
        status, c = call(base, "POST", f"/v2/members/me/video-rooms/{room['id']}/web-rtc-tokens", {}, bearer=who["accessToken"])
        assert status == 201
        creds.append(c)
    return creds


def picture(frame_no):
    """RGBA: the coloured quadrants above a moving gradient band (the bottom eighth)."""
    img = np.empty((HEIGHT, WIDTH, 4), dtype=np.uint8)
    img[..., 3] = 255
    for (r, c), rgb in QUADRANTS.items():
        img[r * HEIGHT // 2:(r + 1) * HEIGHT // 2, c * WIDTH // 2:(c + 1) * WIDTH // 2, :3] = rgb
    band = HEIGHT * 7 // 8
    x = (np.arange(WIDTH) + frame_no * 8) % 256
    img[band:, :, 0] = x
    img[band:, :, 1] = 255 - x
    img[band:, :, 2] = (frame_no * 8) % 256
    return img


def quadrant_colours(rgba):
    """Mean RGB of a patch at the centre of each quadrant (away from edges and the band)."""
    h, w = rgba.shape[:2]
    out = {}
    for (r, c) in QUADRANTS:
        cy, cx = (2 * r + 1) * h // 4 - (h // 16 if r else 0), (2 * c + 1) * w // 4
        patch = rgba[cy - h // 16:cy + h // 16, cx - w // 16:cx + w // 16, :3]
        out[(r, c)] = tuple(float(v) for v in patch.reshape(-1, 3).mean(axis=0))
    return out


def colour_error(colours):
    """The largest channel error of a frame's quadrants against the colours sent."""
    return max(abs(g - e) for q, got in colours.items() for g, e in zip(got, QUADRANTS[q]))


def rounded(colours):
    return {q: tuple(round(v) for v in rgb) for q, rgb in colours.items()}


async def run_session(pub_creds, sub_creds):
    publisher, subscriber = rtc.Room(), rtc.Room()
    loop = asyncio.get_running_loop()
    video_frames = []  # (arrival, width, height, {quadrant: mean RGB})
    audio_chunks = []  # (arrival, int16 samples)
    data, reply = loop.create_future(), loop.create_future()
    readers = []

    async def read_video(track):
        async for event in rtc.VideoStream(track):
            now = time.monotonic()
            f = event.frame
            rgba = np.frombuffer(f.convert(rtc.VideoBufferType.RGBA).data, dtype=np.uint8)
            video_frames.append((now, f.width, f.height, quadrant_colours(rgba.reshape(f.height, f.width, 4))))

    async def read_audio(track):
        async for event in rtc.AudioStream(track, sample_rate=SAMPLE_RATE, num_channels=1):
            samples = np.frombuffer(event.frame.data, dtype=np.int16).copy()
            audio_chunks.append((time.monotonic(), samples))

    @subscriber.on("track_subscribed")
    def on_track(track, publication, participant):
        reader = read_video if track.kind == rtc.TrackKind.KIND_VIDEO else read_audio
        readers.append(asyncio.ensure_future(reader(track)))

    def catch(future):
        def on_data(packet):
            if not future.done():
                future.set_result((bytes(packet.data), packet.participant.identity if packet.participant else None))
        return on_data

    subscriber.on("data_received", catch(data))
    publisher.on("data_received", catch(reply))

    await subscriber.connect(sub_creds["webRtcServerUrl"], sub_creds["webRtcToken"])
    await publisher.connect(pub_creds["webRtcServerUrl"], pub_creds["webRtcToken"])

    video = rtc.VideoSource(WIDTH, HEIGHT)
    audio = rtc.AudioSource(SAMPLE_RATE, 1)
    await publisher.local_participant.publish_track(rtc.LocalVideoTrack.create_video_track("cam", video))
    await publisher.local_participant.publish_track(rtc.LocalAudioTrack.create_audio_track("mic", audio))

    async def pump_video():
        # Paced by the clock, not by sleeping after each frame: FPS whatever the work takes
        # (a late frame is skipped, not sent in a burst).
        start, n = time.monotonic(), 0
        while True:
            video.capture_frame(rtc.VideoFrame(WIDTH, HEIGHT, rtc.VideoBufferType.RGBA, picture(n).tobytes()))
            n = max(n + 1, int((time.monotonic() - start) * FPS))
            await asyncio.sleep(max(0.0, start + n / FPS - time.monotonic()))

    async def pump_audio():
        # A continuous 440 Hz sine in 10 ms frames, kept 100 ms ahead of the clock.
        chunk = SAMPLE_RATE // 100
        start, sent = time.monotonic(), 0
        while True:
            while sent < (time.monotonic() - start + 0.1) * SAMPLE_RATE:
                t = (sent + np.arange(chunk)) / SAMPLE_RATE
                frame = rtc.AudioFrame.create(SAMPLE_RATE, 1, chunk)
                tone = np.sin(2 * math.pi * TONE_HZ * t) * TONE_AMPLITUDE
                np.copyto(np.frombuffer(frame.data, dtype=np.int16), tone.astype(np.int16))
                await audio.capture_frame(frame)
                sent += chunk
            await asyncio.sleep(0.01)

    pumps = [asyncio.ensure_future(pump_video()), asyncio.ensure_future(pump_audio())]
    deadline = time.monotonic() + 20
    while not (video_frames and audio_chunks) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert video_frames, "no video frame arrived in 20 s"
    assert audio_chunks, "no audio frame arrived in 20 s"
    await asyncio.sleep(SETTLE_S)
    opened = time.monotonic()
    window = (opened, opened + WINDOW_S)
    await asyncio.sleep(WINDOW_S)

    await publisher.local_participant.publish_data(b"hello from python", reliable=True, topic="t")
    payload = await asyncio.wait_for(data, 10)
    await subscriber.local_participant.publish_data(b"and back", reliable=True, topic="t")
    back = await asyncio.wait_for(reply, 10)
    for task in pumps + readers:
        task.cancel()
    await publisher.disconnect()
    await subscriber.disconnect()
    return window, video_frames, audio_chunks, payload, back


def in_window(window, items):
    return [item for item in items if window[0] <= item[0] < window[1]]


def tone_stats(samples):
    """RMS, the FFT peak's frequency, and the share of the energy within 20 Hz of it."""
    x = samples.astype(np.float64)
    rms = float(np.sqrt(np.mean(x ** 2)))
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    peak = float(freqs[np.argmax(spectrum)])
    near = spectrum[np.abs(freqs - peak) <= 20].sum() / max(spectrum.sum(), 1e-12)
    return rms, peak, float(near)


def test_python_sdk_publishes_and_receives_video_audio_and_data(vroom):
    alice, bob = credentials(vroom)
    assert alice["webRtcServerUrl"].startswith("ws://127.0.0.1:")
    window, video_frames, audio_chunks, payload, back = asyncio.run(
        asyncio.wait_for(run_session(alice, bob), 60))

    # Video: the full resolution arrives, at a real frame rate, showing what was sent.
    assert all(w > 0 and h > 0 for _, w, h, _ in video_frames)
    assert max(w for _, w, _, _ in video_frames) == WIDTH and max(h for _, _, h, _ in video_frames) == HEIGHT
    # A frame counts only if it shows the picture sent: a video source nobody captures into
    # keeps the track going with black frames (about 10 fps here), which must not count.
    settled = in_window(window, video_frames)
    errors = [colour_error(colours) for *_, colours in settled]
    right = sum(e <= COLOUR_TOLERANCE for e in errors)
    fps = right / WINDOW_S
    print(f"video: {len(settled) / WINDOW_S:.1f} fps received over {WINDOW_S} s, {fps:.1f} fps of the picture sent "
          f"(sent {FPS}), worst quadrant channel error {max(errors, default=0):.1f} of 255")
    wrong = [colours for (*_, colours), e in zip(settled, errors) if e > COLOUR_TOLERANCE]
    example = f"; e.g. received {rounded(wrong[0])}, sent {QUADRANTS}" if wrong else ""
    assert fps >= MIN_FPS, (f"video at {fps:.1f} fps of the picture sent over the settled window (sent {FPS}, "
                            f"need {MIN_FPS}); {len(wrong)} of {len(settled)} frames showed other colours{example}")
    assert right >= 0.9 * len(settled), f"{len(wrong)} of {len(settled)} frames showed other colours{example}"

    # Audio: the tone, continuously; not concealment, noise or silence.
    window_chunks = in_window(window, audio_chunks)
    samples = np.concatenate([s for _, s in window_chunks]) if window_chunks else np.zeros(0, np.int16)
    received = len(samples) / SAMPLE_RATE
    assert received >= WINDOW_S * 0.9, f"only {received:.2f} s of audio in a {WINDOW_S} s window"
    rms, peak, near = tone_stats(samples)
    blocks = samples[:len(samples) // 480 * 480].reshape(-1, 480)
    voiced = float(np.mean(np.sqrt(np.mean(blocks.astype(np.float64) ** 2, axis=1)) > TONE_RMS / 4))
    print(f"audio: {received:.2f} s in the window, RMS {rms:.0f} (sent {TONE_RMS:.0f}), peak {peak:.1f} Hz, "
          f"{near:.3f} of the energy within 20 Hz of it, {voiced:.3f} of 10 ms blocks voiced")
    assert rms > TONE_RMS / 2, f"audio RMS {rms:.0f}, the tone sent has {TONE_RMS:.0f}"
    assert abs(peak - TONE_HZ) <= 5, f"audio peaks at {peak:.1f} Hz, the tone sent is {TONE_HZ} Hz"
    assert near >= 0.8, f"only {near:.3f} of the audio energy is the tone"
    assert voiced >= 0.9, f"the tone is there in only {voiced:.3f} of the 10 ms blocks (gaps)"

    assert payload == (b"hello from python", "alice")
    assert back == (b"and back", "bob")
