import { ConnectionQuality, Track, type VideoTrack } from 'livekit-client';
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/compat';
import { useVisible } from '../hooks';
import { t } from '../i18n';
import { type Meeting, type TileModel, displayName, initials, qualityKey } from '../meeting';
import { Icon } from './Icons';

function hue(s: string): number {
  let h = 0;
  for (const c of s) h = (h * 31 + (c.codePointAt(0) ?? 0)) % 360;
  return h;
}

export function Avatar({ name, identity, size }: { name: string; identity: string; size?: 'small' }): JSX.Element {
  const ref = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    // Set from script: the page's CSP allows no style attributes in markup.
    if (ref.current) ref.current.style.backgroundColor = `hsl(${hue(identity)} 45% 38%)`;
  }, [identity]);
  return (
    <span ref={ref} class={`avatar ${size ?? ''}`} aria-hidden="true">
      {initials(name)}
    </span>
  );
}

function QualityBars({ quality }: { quality: ConnectionQuality }): JSX.Element {
  const level =
    quality === ConnectionQuality.Excellent ? 3 : quality === ConnectionQuality.Good ? 2 : quality === ConnectionQuality.Poor ? 1 : 0;
  const label = t('quality', { quality: t(qualityKey(quality)) });
  return (
    <span class={`quality q${level}`} role="img" aria-label={label} title={label} data-quality={quality}>
      <i />
      <i />
      <i />
    </span>
  );
}

export function Tile({ meeting, tile, stage }: { meeting: Meeting; tile: TileModel; stage?: boolean }): JSX.Element {
  const { participant: p, source } = tile;
  const rootRef = useRef<HTMLDivElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const visible = useVisible(rootRef);
  const pub = p.getTrackPublication(source === 'screen' ? Track.Source.ScreenShare : Track.Source.Camera);
  const track = pub?.track as VideoTrack | undefined;
  const hasVideo = !!track && !pub?.isMuted;
  const micPub = p.getTrackPublication(Track.Source.Microphone);
  const micMuted = !micPub || micPub.isMuted;
  const name = displayName(p);
  const label = source === 'screen' ? t('screenOf', { name }) : name;
  const speaking = source === 'camera' && p.isSpeaking;

  // Only a tile on screen has its video attached: adaptive stream then subscribes to what is
  // visible, at the size it is shown.
  useEffect(() => {
    const el = videoRef.current;
    if (!el || !track || !hasVideo || !visible) return;
    track.attach(el);
    return () => {
      track.detach(el);
    };
  }, [track, hasVideo, visible]);

  const isPinned = meeting.pinned === tile.key;
  return (
    <div
      ref={rootRef}
      class={`tile${speaking ? ' speaking' : ''}${hasVideo ? ' has-video' : ''}${source === 'screen' ? ' screen' : ''}${stage ? ' on-stage' : ''}`}
      data-testid="tile"
      data-identity={p.identity}
      data-source={source}
      data-muted-mic={String(micMuted)}
      data-speaking={String(speaking)}
      data-local={String(p.isLocal)}
      role="group"
      aria-label={`${label}${micMuted && source === 'camera' ? `, ${t('muted')}` : ''}${speaking ? `, ${t('speaking')}` : ''}`}
    >
      <video
        ref={videoRef}
        class={p.isLocal && source === 'camera' ? 'mirror' : ''}
        autoplay
        playsInline
        muted
        aria-hidden="true"
      />
      {!hasVideo && (
        <div class="tile-placeholder">
          <Avatar name={name} identity={p.identity} />
        </div>
      )}
      <div class="tile-bar">
        {source === 'camera' && (
          <span class={`tile-mic${micMuted ? ' off' : ''}`} role="img" aria-label={micMuted ? t('muted') : t('micOn')}>
            <Icon name={micMuted ? 'micOff' : 'mic'} />
          </span>
        )}
        <span class="tile-name">
          {label}
          {p.isLocal && source === 'camera' ? ` (${t('you')})` : ''}
          {source === 'camera' && meeting.isHostParticipant(p) ? ` · ${t('host')}` : ''}
        </span>
        <QualityBars quality={p.connectionQuality} />
      </div>
      <button
        type="button"
        class={`tile-pin${isPinned ? ' active' : ''}`}
        aria-pressed={isPinned}
        aria-label={`${isPinned ? '−' : '+'} ${t('layoutFocus')}: ${label}`}
        title={t('layoutFocus')}
        onClick={() => meeting.pin(tile.key)}
      >
        <Icon name="pin" />
      </button>
    </div>
  );
}
