// Type guards over the wrappers, and small helpers of the official SDK.
import { FFCLocalParticipant } from './participant/local';
import type { FFCParticipant } from './participant/participant';
import { FFCRemoteParticipant } from './participant/remote';
import { FFCTrackKind } from './track/kinds';
import { FFCLocalAudioTrack, FFCLocalTrack, FFCLocalVideoTrack } from './track/local';
import { FFCRemoteTrack, type FFCRemoteAudioTrack, type FFCRemoteVideoTrack } from './track/remote';
import type { FFCTrack } from './track/track';

export function sleep(duration: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, duration));
}

export function isLocalParticipant(p: FFCParticipant): p is FFCLocalParticipant {
  return p instanceof FFCLocalParticipant;
}

export function isRemoteParticipant(p: FFCParticipant): p is FFCRemoteParticipant {
  return p instanceof FFCRemoteParticipant;
}

export function isLocalTrack(track: FFCTrack | MediaStreamTrack | undefined): track is FFCLocalTrack {
  return track instanceof FFCLocalTrack;
}

export function isRemoteTrack(track: FFCTrack | undefined): track is FFCRemoteTrack {
  return track instanceof FFCRemoteTrack;
}

export function isAudioTrack(track: FFCTrack | undefined): track is FFCLocalAudioTrack | FFCRemoteAudioTrack {
  return track !== undefined && track.kind === FFCTrackKind.Audio;
}

export function isVideoTrack(track: FFCTrack | undefined): track is FFCLocalVideoTrack | FFCRemoteVideoTrack {
  return track !== undefined && track.kind === FFCTrackKind.Video;
}

export function isLocalAudioTrack(track: FFCTrack | undefined): track is FFCLocalAudioTrack {
  return track instanceof FFCLocalAudioTrack;
}

export function isLocalVideoTrack(track: FFCTrack | undefined): track is FFCLocalVideoTrack {
  return track instanceof FFCLocalVideoTrack;
}
