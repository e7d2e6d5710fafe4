// FFCRemoteParticipant: another participant of the room.
import type { RemoteParticipant } from 'livekit-client';
import * as kinds from '../track/kinds';
import { FFCTrackSource } from '../track/kinds';
import { wrapTrackPublication, type FFCRemoteTrackPublication } from '../track/publication';
import type { FFCTrack } from '../track/track';
import { FFCParticipant, mapPublications } from './participant';

/** Another participant of the room. */
export class FFCRemoteParticipant extends FFCParticipant {
  constructor(participant: RemoteParticipant) {
    super(participant);
  }

  override get instance(): RemoteParticipant {
    return this._participant as RemoteParticipant;
  }

  override get audioTrackPublications(): Map<string, FFCRemoteTrackPublication> {
    return mapPublications(this.instance.audioTrackPublications);
  }

  override get videoTrackPublications(): Map<string, FFCRemoteTrackPublication> {
    return mapPublications(this.instance.videoTrackPublications);
  }

  override get trackPublications(): Map<string, FFCRemoteTrackPublication> {
    return mapPublications(this.instance.trackPublications);
  }

  override getTrackPublication(source: FFCTrack.Source): FFCRemoteTrackPublication | undefined {
    const p = this.instance.getTrackPublication(kinds.toTrackSource(source));
    return p ? (wrapTrackPublication(p) as FFCRemoteTrackPublication) : undefined;
  }

  override getTrackPublicationByName(name: string): FFCRemoteTrackPublication | undefined {
    const p = this.instance.getTrackPublicationByName(name);
    return p ? (wrapTrackPublication(p) as FFCRemoteTrackPublication) : undefined;
  }

  /** Playback volume (0–1) of the participant's microphone or screen audio. */
  setVolume(volume: number, source: FFCTrackSource.Microphone | FFCTrackSource.ScreenShareAudio = FFCTrackSource.Microphone): void {
    this.instance.setVolume(volume, kinds.toTrackSource(source) as Parameters<RemoteParticipant['setVolume']>[1]);
  }

  getVolume(source: FFCTrackSource.Microphone | FFCTrackSource.ScreenShareAudio = FFCTrackSource.Microphone): number | undefined {
    return this.instance.getVolume(kinds.toTrackSource(source) as Parameters<RemoteParticipant['getVolume']>[0]);
  }
}
