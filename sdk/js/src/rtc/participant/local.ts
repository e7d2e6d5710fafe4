// FFCLocalParticipant: this page's participant (publish, metadata, data, RPC).
import type {
  DataPublishOptions,
  LocalParticipant,
  LocalTrack,
  PerformRpcParams,
  SendTextOptions,
  TextStreamInfo,
} from 'livekit-client';
import * as kinds from '../track/kinds';
import type { FFCLocalTrack } from '../track/local';
import {
  FFCTrackPublishOptions,
  type FFCAudioCaptureOptions,
  type FFCCreateLocalTracksOptions,
  type FFCScreenShareCaptureOptions,
  type FFCVideoCaptureOptions,
} from '../track/options';
import { FFCLocalTrackPublication, wrapTrackPublication } from '../track/publication';
import type { FFCTrack } from '../track/track';
import { wrapTrack } from '../track/wrap';
import type { FFCParticipantTrackPermission } from '../types';
import { FFCParticipant, mapPublications } from './participant';

function unwrap(track: FFCLocalTrack | MediaStreamTrack): LocalTrack | MediaStreamTrack {
  return typeof MediaStreamTrack !== 'undefined' && track instanceof MediaStreamTrack ? track : (track as FFCLocalTrack).instance;
}

function wrapPub(p: Parameters<typeof wrapTrackPublication>[0]): FFCLocalTrackPublication {
  return wrapTrackPublication(p) as FFCLocalTrackPublication;
}

/** The participant of this page. */
export class FFCLocalParticipant extends FFCParticipant {
  constructor(participant: LocalParticipant) {
    super(participant);
  }

  override get instance(): LocalParticipant {
    return this._participant as LocalParticipant;
  }

  override get audioTrackPublications(): Map<string, FFCLocalTrackPublication> {
    return mapPublications(this.instance.audioTrackPublications);
  }

  override get videoTrackPublications(): Map<string, FFCLocalTrackPublication> {
    return mapPublications(this.instance.videoTrackPublications);
  }

  /** Every publication, audio included (the official SDK's lists only video). */
  override get trackPublications(): Map<string, FFCLocalTrackPublication> {
    return mapPublications(this.instance.trackPublications);
  }

  override getTrackPublication(source: FFCTrack.Source): FFCLocalTrackPublication | undefined {
    const p = this.instance.getTrackPublication(kinds.toTrackSource(source));
    return p ? wrapPub(p) : undefined;
  }

  override getTrackPublicationByName(name: string): FFCLocalTrackPublication | undefined {
    const p = this.instance.getTrackPublicationByName(name);
    return p ? wrapPub(p) : undefined;
  }

  get lastCameraError(): Error | undefined {
    return this.instance.lastCameraError;
  }

  get lastMicrophoneError(): Error | undefined {
    return this.instance.lastMicrophoneError;
  }

  setMetadata(metadata: string): Promise<void> {
    return this.instance.setMetadata(metadata);
  }

  setName(name: string): Promise<void> {
    return this.instance.setName(name);
  }

  setAttributes(attributes: Record<string, string>): Promise<void> {
    return this.instance.setAttributes(attributes);
  }

  /** The official SDK's spelling of {@link setAttributes}. */
  setAtributes(attributes: Record<string, string>): Promise<void> {
    return this.setAttributes(attributes);
  }

  async setCameraEnabled(enable: boolean, opts?: FFCVideoCaptureOptions, publishOpts?: FFCTrackPublishOptions): Promise<FFCLocalTrackPublication | undefined> {
    const p = await this.instance.setCameraEnabled(enable, opts, FFCTrackPublishOptions.toTrackPublishOptions(publishOpts));
    return p ? wrapPub(p) : undefined;
  }

  async setMicrophoneEnabled(enable: boolean, opts?: FFCAudioCaptureOptions, publishOpts?: FFCTrackPublishOptions): Promise<FFCLocalTrackPublication | undefined> {
    const p = await this.instance.setMicrophoneEnabled(enable, opts, FFCTrackPublishOptions.toTrackPublishOptions(publishOpts));
    return p ? wrapPub(p) : undefined;
  }

  async setScreenShareEnabled(enable: boolean, opts?: FFCScreenShareCaptureOptions, publishOpts?: FFCTrackPublishOptions): Promise<FFCLocalTrackPublication | undefined> {
    const p = await this.instance.setScreenShareEnabled(enable, opts, FFCTrackPublishOptions.toTrackPublishOptions(publishOpts));
    return p ? wrapPub(p) : undefined;
  }

  /** Publishes the camera and the microphone (one permission prompt). */
  enableCameraAndMicrophone(): Promise<void> {
    return this.instance.enableCameraAndMicrophone();
  }

  async createTracks(opts?: FFCCreateLocalTracksOptions): Promise<FFCLocalTrack[]> {
    return (await this.instance.createTracks(opts)).map((t) => wrapTrack(t) as FFCLocalTrack);
  }

  async createScreenTracks(opts?: FFCScreenShareCaptureOptions): Promise<FFCLocalTrack[]> {
    return (await this.instance.createScreenTracks(opts)).map((t) => wrapTrack(t) as FFCLocalTrack);
  }

  async publishTrack(track: FFCLocalTrack | MediaStreamTrack, opts?: FFCTrackPublishOptions): Promise<FFCLocalTrackPublication> {
    return wrapPub(await this.instance.publishTrack(unwrap(track), FFCTrackPublishOptions.toTrackPublishOptions(opts)));
  }

  async unpublishTrack(track: FFCLocalTrack | MediaStreamTrack, stopOnUnpublish?: boolean): Promise<FFCLocalTrackPublication | undefined> {
    const p = await this.instance.unpublishTrack(unwrap(track), stopOnUnpublish);
    return p ? wrapPub(p) : undefined;
  }

  async unpublishTracks(tracks: FFCLocalTrack[] | MediaStreamTrack[]): Promise<FFCLocalTrackPublication[]> {
    const inner = (tracks as (FFCLocalTrack | MediaStreamTrack)[]).map(unwrap) as LocalTrack[];
    return (await this.instance.unpublishTracks(inner)).map(wrapPub);
  }

  republishAllTracks(opts?: FFCTrackPublishOptions, restartTracks = true): Promise<void> {
    return this.instance.republishAllTracks(FFCTrackPublishOptions.toTrackPublishOptions(opts), restartTracks);
  }

  setTrackSubscriptionPermissions(allParticipantsAllowed: boolean, participantTrackPermissions: FFCParticipantTrackPermission[] = []): void {
    this.instance.setTrackSubscriptionPermissions(allParticipantsAllowed, participantTrackPermissions);
  }

  /** vroom: sends a data packet (`reliable`, `destinationIdentities`, `topic`). */
  publishData(data: Uint8Array, options?: DataPublishOptions): Promise<void> {
    return this.instance.publishData(data as Parameters<LocalParticipant['publishData']>[0], options);
  }

  /** vroom: sends a text stream (see {@link FFCRtcVideoRoom.registerTextStreamHandler}). */
  sendText(text: string, options?: SendTextOptions): Promise<TextStreamInfo> {
    return this.instance.sendText(text, options);
  }


  /** vroom: sends a file as a byte stream. */
  sendFile(file: File, options?: Parameters<LocalParticipant['sendFile']>[1]): Promise<{ id: string }> {
    return this.instance.sendFile(file, options);
  }

  /** vroom: calls an RPC method another participant registered; resolves with its answer. */
  performRpc(params: PerformRpcParams): Promise<string> {
    return this.instance.performRpc(params);
  }

}
