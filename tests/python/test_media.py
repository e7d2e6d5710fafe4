"""Native-client proof: the LiveKit Python SDK (libwebrtc inside, standing in for the
mobile SDKs) publishes video, audio and data through vroom, and a second Python client
receives them. Runs the real `vroom serve` binary; send traffic only to loopback (the test
script runs it in a network namespace of its own).

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
# libwebrtc gathers no candidates on loopback: the test script gives its namespace a dummy
# interface with this address (traffic to it never leaves the namespace).
NODE_IP = os.environ.get("VROOM_TEST_NODE_IP", "127.0.0.1")


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


def pattern(frame_no):
    """A moving gradient, RGBA."""
    x = (np.arange(WIDTH, dtype=np.uint32) + frame_no * 4) % 256
    row = np.stack([x, 255 - x, np.full(WIDTH, (frame_no * 8) % 256), np.full(WIDTH, 255)], axis=1)
    return np.ascontiguousarray(np.broadcast_to(row, (HEIGHT, WIDTH, 4)).astype(np.uint8))


async def run_session(pub_creds, sub_creds):
    publisher, subscriber = rtc.Room(), rtc.Room()
    loop = asyncio.get_running_loop()
    video_frames, audio_frames = [], []
    data, reply = loop.create_future(), loop.create_future()
    readers = []

    async def read_video(track):
        async for event in rtc.VideoStream(track):
            video_frames.append((event.frame.width, event.frame.height))

    async def read_audio(track):
        async for event in rtc.AudioStream(track):
            audio_frames.append(event.frame.samples_per_channel)

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
    audio = rtc.AudioSource(48000, 1)
    await publisher.local_participant.publish_track(rtc.LocalVideoTrack.create_video_track("cam", video))
    await publisher.local_participant.publish_track(rtc.LocalAudioTrack.create_audio_track("mic", audio))

    async def pump():
        for n in range(200):  # ~13 s at 15 fps, bounded
            video.capture_frame(rtc.VideoFrame(WIDTH, HEIGHT, rtc.VideoBufferType.RGBA, pattern(n).tobytes()))
            t = np.arange(480 * 4) / 48000
            tone = (np.sin(2 * math.pi * 440 * (t + n * 0.04)) * 8000).astype(np.int16)
            for chunk in range(4):
                frame = rtc.AudioFrame.create(48000, 1, 480)
                np.copyto(np.frombuffer(frame.data, dtype=np.int16), tone[chunk * 480:(chunk + 1) * 480])
                await audio.capture_frame(frame)
            await asyncio.sleep(1 / 15)

    pumping = asyncio.ensure_future(pump())
    deadline = time.time() + 20
    while (len(video_frames) < 60 or len(audio_frames) < 50) and time.time() < deadline:
        await asyncio.sleep(0.1)
    await publisher.local_participant.publish_data(b"hello from python", reliable=True, topic="t")
    payload = await asyncio.wait_for(data, 10)
    await subscriber.local_participant.publish_data(b"and back", reliable=True, topic="t")
    back = await asyncio.wait_for(reply, 10)
    pumping.cancel()
    for r in readers:
        r.cancel()
    await publisher.disconnect()
    await subscriber.disconnect()
    return video_frames, audio_frames, payload, back


def test_python_sdk_publishes_and_receives_video_audio_and_data(vroom):
    alice, bob = credentials(vroom)
    assert alice["webRtcServerUrl"].startswith("ws://127.0.0.1:")
    video_frames, audio_frames, payload, back = asyncio.run(asyncio.wait_for(run_session(alice, bob), 60))
    assert len(video_frames) >= 50, f"only {len(video_frames)} video frames decoded"
    assert all(w > 0 and h > 0 for w, h in video_frames)
    assert max(w for w, _ in video_frames) == WIDTH and max(h for _, h in video_frames) == HEIGHT
    assert len(audio_frames) >= 50, f"only {len(audio_frames)} audio frames"
    assert payload == (b"hello from python", "alice")
    assert back == (b"and back", "bob")
