// livekit-client participant → its FFC wrapper (created on first use, then the same object).
import type { LocalParticipant, Participant, RemoteParticipant } from 'livekit-client';
import { registeredWrapper } from '../registry';
import { FFCLocalParticipant } from './local';
import type { FFCParticipant } from './participant';
import { FFCRemoteParticipant } from './remote';

/** @internal */
export function wrapParticipant(participant: Participant): FFCParticipant {
  return (
    registeredWrapper<FFCParticipant>(participant) ??
    (participant.isLocal ? new FFCLocalParticipant(participant as LocalParticipant) : new FFCRemoteParticipant(participant as RemoteParticipant))
  );
}

/** @internal */
export function wrapRemoteParticipant(participant: RemoteParticipant): FFCRemoteParticipant {
  return wrapParticipant(participant) as FFCRemoteParticipant;
}

/** @internal */
export function wrapLocalParticipant(participant: LocalParticipant): FFCLocalParticipant {
  return wrapParticipant(participant) as FFCLocalParticipant;
}
