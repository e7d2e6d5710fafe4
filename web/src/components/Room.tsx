import { type RemoteAudioTrack, Track } from 'livekit-client';
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/compat';
import { useSize } from '../hooks';
import { t } from '../i18n';
import { type Meeting, type TileModel, displayName } from '../meeting';
import { Icon, type IconName } from './Icons';
import { Avatar, Tile } from './Tile';
import { DeviceSelects } from './PreJoin';

const GAP = 8;
const MAX_PER_PAGE = 25;

interface GridShape {
  cols: number;
  rows: number;
  w: number;
  h: number;
}

/** The column count that gives `n` 16:9 tiles the most room in `width`×`height`. */
export function bestGrid(n: number, width: number, height: number): GridShape {
  let best: GridShape = { cols: 1, rows: 1, w: 0, h: 0 };
  for (let cols = 1; cols <= Math.max(1, n); cols += 1) {
    const rows = Math.ceil(n / cols);
    const maxW = (width - GAP * (cols - 1)) / cols;
    const maxH = (height - GAP * (rows - 1)) / rows;
    const w = Math.floor(Math.min(maxW, (maxH * 16) / 9));
    if (w > best.w) best = { cols, rows, w, h: Math.floor((w * 9) / 16) };
  }
  return best;
}

/** How many tiles fit on one page of the grid at a readable size. */
function perPage(width: number, height: number): number {
  const minW = width < 560 ? 150 : 200;
  let fit = 1;
  for (let k = 1; k <= MAX_PER_PAGE; k += 1) {
    if (bestGrid(k, width, height).w >= minW) fit = k;
  }
  return fit;
}

function Pager({ page, pages, setPage }: { page: number; pages: number; setPage: (p: number) => void }): JSX.Element | null {
  if (pages <= 1) return null;
  return (
    <nav class="pager" aria-label={t('page', { page: page + 1, pages })}>
      <button type="button" class="icon-button small" aria-label={t('prevPage')} disabled={page === 0} onClick={() => setPage(page - 1)}>
        <Icon name="prev" />
      </button>
      <span class="pager-text" data-testid="pager">
        {t('page', { page: page + 1, pages })}
      </span>
      <button
        type="button"
        class="icon-button small"
        aria-label={t('nextPage')}
        disabled={page >= pages - 1}
        onClick={() => setPage(page + 1)}
      >
        <Icon name="next" />
      </button>
    </nav>
  );
}

function Grid({ meeting, tiles }: { meeting: Meeting; tiles: TileModel[] }): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const size = useSize(ref);
  const [page, setPage] = useState(0);
  const fit = size.width > 0 ? perPage(size.width, size.height - 40) : 1;
  const pages = Math.max(1, Math.ceil(tiles.length / fit));
  const current = Math.min(page, pages - 1);
  const shown = tiles.slice(current * fit, current * fit + fit);
  const reserve = pages > 1 ? 40 : 0;
  const shape = bestGrid(shown.length, size.width, size.height - reserve);
  const gridRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = gridRef.current;
    if (!el) return;
    el.style.gridTemplateColumns = `repeat(${shape.cols}, ${shape.w}px)`;
    el.style.gridAutoRows = `${shape.h}px`;
  }, [shape.cols, shape.w, shape.h]);
  return (
    <div class="grid-area" ref={ref} data-layout="grid" data-per-page={fit}>
      <div class="grid" ref={gridRef}>
        {size.width > 0 && shown.map((tile) => <Tile key={tile.key} meeting={meeting} tile={tile} />)}
      </div>
      <Pager page={current} pages={pages} setPage={setPage} />
    </div>
  );
}

function Strip({ meeting, tiles, vertical }: { meeting: Meeting; tiles: TileModel[]; vertical: boolean }): JSX.Element | null {
  const ref = useRef<HTMLDivElement>(null);
  const size = useSize(ref);
  const [page, setPage] = useState(0);
  const fixed = meeting.opts.drawLayoutType === 'fixed-grid';
  const tileW = vertical ? Math.max(96, size.width - 8) : 160;
  const tileH = Math.round((tileW * 9) / 16);
  const fit = fixed
    ? Math.max(1, Math.floor(((vertical ? size.height - 40 : size.width - 90) + GAP) / ((vertical ? tileH : tileW) + GAP)))
    : tiles.length;
  const pages = Math.max(1, Math.ceil(tiles.length / fit));
  const current = Math.min(page, pages - 1);
  const shown = fixed ? tiles.slice(current * fit, current * fit + fit) : tiles;
  if (tiles.length === 0) return null;
  return (
    <div
      ref={ref}
      class={`strip ${vertical ? 'vertical' : 'horizontal'} ${fixed ? 'fixed' : 'scroll'}`}
      data-testid="strip"
      aria-label={t('participants')}
    >
      <div class="strip-tiles">
        {shown.map((tile) => (
          <Tile key={tile.key} meeting={meeting} tile={tile} />
        ))}
      </div>
      {fixed && <Pager page={current} pages={pages} setPage={setPage} />}
    </div>
  );
}

function Focus({ meeting, tiles }: { meeting: Meeting; tiles: TileModel[] }): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const size = useSize(ref);
  const stageKey = meeting.stageKey(tiles);
  const stage = tiles.find((x) => x.key === stageKey);
  const others = tiles.filter((x) => x.key !== stageKey);
  let position = meeting.opts.drawLayoutPosition;
  // A side strip leaves no stage on a phone.
  if (size.width > 0 && size.width < 560 && (position === 'left' || position === 'right')) position = 'bottom';
  const vertical = position === 'left' || position === 'right';
  return (
    <div class={`focus-area pos-${position}`} ref={ref} data-layout="focus" data-position={position}>
      <div class="stage" data-testid="stage">
        {stage && <Tile key={stage.key} meeting={meeting} tile={stage} stage />}
      </div>
      <Strip meeting={meeting} tiles={others} vertical={vertical} />
    </div>
  );
}

function RemoteAudio({ track, muted }: { track: RemoteAudioTrack; muted: boolean }): JSX.Element {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    track.attach(el);
    return () => {
      track.detach(el);
    };
  }, [track]);
  useEffect(() => {
    if (ref.current) ref.current.muted = muted;
  }, [muted]);
  return <audio ref={ref} autoplay data-testid="remote-audio" />;
}

function AudioSink({ meeting }: { meeting: Meeting }): JSX.Element {
  const room = meeting.room;
  const tracks: { key: string; track: RemoteAudioTrack }[] = [];
  // Remote audio publications carry remote audio tracks.
  if (room) {
    for (const p of room.remoteParticipants.values()) {
      for (const pub of p.audioTrackPublications.values()) {
        if (pub.track) tracks.push({ key: `${p.identity}:${pub.trackSid}`, track: pub.audioTrack as RemoteAudioTrack });
      }
    }
  }
  return (
    <div class="audio-sink" aria-hidden="true">
      {tracks.map(({ key, track }) => (
        <RemoteAudio key={key} track={track} muted={!meeting.audioEnabled} />
      ))}
    </div>
  );
}

function ControlButton(props: {
  icon: IconName;
  label: string;
  onClick: () => void;
  pressed?: boolean;
  danger?: boolean;
  off?: boolean;
  badge?: number;
  testid: string;
  disabled?: boolean;
}): JSX.Element {
  return (
    <button
      type="button"
      class={`control${props.danger ? ' danger' : ''}${props.off ? ' off' : ''}${props.pressed ? ' active' : ''}`}
      aria-label={props.label}
      title={props.label}
      aria-pressed={props.pressed}
      data-testid={props.testid}
      disabled={props.disabled}
      onClick={props.onClick}
    >
      <Icon name={props.icon} />
      {props.badge ? (
        <span class="badge" aria-hidden="true">
          {props.badge > 99 ? '99+' : props.badge}
        </span>
      ) : null}
    </button>
  );
}

function Controls({ meeting, confirm }: { meeting: Meeting; confirm: (text: string, action: () => void) => void }): JSX.Element {
  const lp = meeting.room?.localParticipant;
  const publish = meeting.canPublish();
  const micOn = !!lp?.isMicrophoneEnabled;
  const camOn = !!lp?.isCameraEnabled;
  const sharing = !!lp?.isScreenShareEnabled;
  const canShare = typeof navigator.mediaDevices.getDisplayMedia === 'function';
  const layout = meeting.layout();
  return (
    <div class="controls" role="toolbar" aria-label={t('roomLabel')}>
      {publish && (
        <>
          <ControlButton
            testid="toggle-mic"
            icon={micOn ? 'mic' : 'micOff'}
            label={`${micOn ? t('mute') : t('unmute')} (Ctrl/⌘+D)`}
            pressed={!micOn}
            off={!micOn}
            onClick={() => void meeting.toggleMic()}
          />
          <ControlButton
            testid="toggle-camera"
            icon={camOn ? 'cam' : 'camOff'}
            label={`${camOn ? t('stopCamera') : t('startCamera')} (Ctrl/⌘+E)`}
            pressed={!camOn}
            off={!camOn}
            onClick={() => void meeting.toggleCamera()}
          />
          {canShare && (
            <ControlButton
              testid="toggle-screen"
              icon="screen"
              label={sharing ? t('stopShare') : t('shareScreen')}
              pressed={sharing}
              onClick={() => void meeting.toggleScreenShare()}
            />
          )}
        </>
      )}
      {meeting.opts.isObserver && (
        <ControlButton
          testid="toggle-audio"
          icon={meeting.audioEnabled ? 'speaker' : 'speakerOff'}
          label={meeting.audioEnabled ? t('audioOff') : t('audioOn')}
          pressed={meeting.audioEnabled}
          off={!meeting.audioEnabled}
          onClick={() => meeting.toggleRemoteAudio()}
        />
      )}
      <ControlButton
        testid="toggle-layout"
        icon={layout === 'grid' ? 'focus' : 'grid'}
        label={layout === 'grid' ? t('layoutFocus') : t('layoutGrid')}
        onClick={() => meeting.toggleLayout()}
      />
      <ControlButton
        testid="open-participants"
        icon="people"
        label={t('participants')}
        pressed={meeting.panel === 'participants'}
        badge={meeting.waitingList.length}
        onClick={() => meeting.setPanel('participants')}
      />
      <ControlButton
        testid="open-chat"
        icon="chat"
        label={t('chat')}
        pressed={meeting.panel === 'chat'}
        badge={meeting.unread}
        onClick={() => meeting.setPanel('chat')}
      />
      <ControlButton
        testid="open-settings"
        icon="gear"
        label={t('settings')}
        pressed={meeting.panel === 'settings'}
        onClick={() => meeting.setPanel('settings')}
      />
      <ControlButton testid="leave" icon="leave" label={t('leave')} danger onClick={() => void meeting.leave()} />
      {meeting.isHost && (
        <ControlButton
          testid="end-for-all"
          icon="end"
          label={t('endForAll')}
          danger
          onClick={() => confirm(t('endConfirm'), () => void meeting.endForAll())}
        />
      )}
    </div>
  );
}

function PanelFrame({ meeting, title, children, id }: { meeting: Meeting; title: string; children: JSX.Element | JSX.Element[]; id: string }): JSX.Element {
  return (
    <aside class="panel" role="complementary" aria-labelledby={`${id}-title`} data-testid={`panel-${id}`}>
      <header class="panel-head">
        <h2 id={`${id}-title`}>{title}</h2>
        <button type="button" class="icon-button small" aria-label={t('close')} onClick={() => meeting.setPanel(null)}>
          <Icon name="close" />
        </button>
      </header>
      {children}
    </aside>
  );
}

function ParticipantsPanel({ meeting, confirm }: { meeting: Meeting; confirm: (text: string, action: () => void) => void }): JSX.Element {
  const people = meeting.participants();
  return (
    <PanelFrame meeting={meeting} title={t('participants')} id="participants">
      {meeting.isHost && meeting.waitingList.length > 0 ? (
        <section class="panel-section" aria-label={t('waitingList')}>
          <h3>{t('waitingList')}</h3>
          <ul class="people">
            {meeting.waitingList.map((w) => (
              <li key={w.appUserId} data-testid="waiting-entry" data-identity={w.appUserId}>
                <Avatar name={w.appUserName ?? w.appUserId} identity={w.appUserId} size="small" />
                <span class="person-name">{w.appUserName ?? w.appUserId}</span>
                <button type="button" class="button small primary" data-testid="approve" onClick={() => void meeting.hostAction('approve', w.appUserId)}>
                  {t('approve')}
                </button>
                <button type="button" class="button small" data-testid="reject" onClick={() => void meeting.hostAction('reject', w.appUserId)}>
                  {t('reject')}
                </button>
              </li>
            ))}
          </ul>
        </section>
      ) : (
        <></>
      )}
      <section class="panel-section">
        <h3>{t('inMeeting', { count: meeting.count() })}</h3>
        <ul class="people" data-testid="participant-list">
          {people.map((p) => {
            const name = displayName(p);
            const mic = p.getTrackPublication(Track.Source.Microphone);
            const micOff = !mic || mic.isMuted;
            const camOff = !p.isCameraEnabled && !(p.getTrackPublication(Track.Source.Camera)?.isMuted === false);
            return (
              <li key={p.identity} data-testid="participant-entry" data-identity={p.identity}>
                <Avatar name={name} identity={p.identity} size="small" />
                <span class="person-name">
                  {name}
                  {p.isLocal ? ` (${t('you')})` : ''}
                  {meeting.isHostParticipant(p) ? <span class="tag">{t('host')}</span> : null}
                </span>
                <span class={`state${micOff ? ' off' : ''}`} role="img" aria-label={micOff ? t('micOff') : t('micOn')}>
                  <Icon name={micOff ? 'micOff' : 'mic'} />
                </span>
                <span class={`state${camOff ? ' off' : ''}`} role="img" aria-label={camOff ? t('cameraOff') : t('cameraOn')}>
                  <Icon name={camOff ? 'camOff' : 'cam'} />
                </span>
                {meeting.isHost && !p.isLocal && (
                  <button
                    type="button"
                    class="button small"
                    data-testid="remove"
                    aria-label={`${t('remove')}: ${name}`}
                    onClick={() => confirm(t('removeConfirm', { name }), () => void meeting.hostAction('remove', p.identity))}
                  >
                    {t('remove')}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      </section>
    </PanelFrame>
  );
}

function ChatPanel({ meeting }: { meeting: Meeting }): JSX.Element {
  const [text, setText] = useState('');
  const listRef = useRef<HTMLOListElement>(null);
  const inputRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    inputRef.current?.focus();
  }, []);
  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [meeting.chat.length]);
  const fmt = new Intl.DateTimeFormat(document.documentElement.lang, { hour: '2-digit', minute: '2-digit' });
  return (
    <PanelFrame meeting={meeting} title={t('chat')} id="chat">
      <ol class="chat-list" ref={listRef} data-testid="chat-list" aria-live="off">
        {meeting.chat.length === 0 && <li class="muted-text">{t('chatEmpty')}</li>}
        {meeting.chat.map((m) => (
          <li key={m.id} class={`chat-message${m.mine ? ' mine' : ''}`} data-testid="chat-message">
            <div class="chat-meta">
              <strong>{m.mine ? t('you') : m.name}</strong> <time>{fmt.format(new Date(m.timestamp))}</time>
            </div>
            <div class="chat-text">{m.text}</div>
          </li>
        ))}
      </ol>
      <form
        class="chat-form"
        onSubmit={(e) => {
          e.preventDefault();
          const value = text;
          setText('');
          void meeting.sendChat(value);
        }}
      >
        <label class="visually-hidden" for="chat-input">
          {t('chatMessageLabel')}
        </label>
        <input
          id="chat-input"
          ref={inputRef}
          data-testid="chat-input"
          type="text"
          maxLength={2000}
          autoComplete="off"
          placeholder={t('chatPlaceholder')}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <button type="submit" class="button primary" data-testid="chat-send" disabled={!text.trim()}>
          {t('send')}
        </button>
      </form>
    </PanelFrame>
  );
}

function SettingsPanel({ meeting }: { meeting: Meeting }): JSX.Element {
  return (
    <PanelFrame meeting={meeting} title={t('settings')} id="settings">
      <div class="panel-section">
        {meeting.canPublish() ? <DeviceSelects meeting={meeting} /> : <DeviceSelects meeting={meeting} outputOnly />}
        <p class="muted-text">{t('shortcuts')}</p>
      </div>
    </PanelFrame>
  );
}

function WaitingBanner({ meeting }: { meeting: Meeting }): JSX.Element | null {
  const first = meeting.waitingList[0];
  if (!meeting.isHost || !first || meeting.panel === 'participants') return null;
  const name = first.appUserName ?? first.appUserId;
  return (
    <div class="waiting-banner" role="region" aria-label={t('waitingList')} data-testid="waiting-banner">
      <span>{t('waitingArrived', { name })}</span>
      <button type="button" class="button small primary" data-testid="approve" onClick={() => void meeting.hostAction('approve', first.appUserId)}>
        {t('approve')}
      </button>
      <button type="button" class="button small" data-testid="reject" onClick={() => void meeting.hostAction('reject', first.appUserId)}>
        {t('reject')}
      </button>
    </div>
  );
}

function ConfirmDialog({ text, onOk, onCancel }: { text: string; onOk: () => void; onCancel: () => void }): JSX.Element {
  const okRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    okRef.current?.focus();
  }, []);
  return (
    <div class="dialog-backdrop">
      <div
        class="dialog"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby="confirm-text"
        data-testid="confirm"
        onKeyDown={(e) => {
          if (e.key === 'Escape') onCancel();
        }}
      >
        <p id="confirm-text">{text}</p>
        <div class="dialog-actions">
          <button type="button" class="button" onClick={onCancel}>
            {t('cancel')}
          </button>
          <button type="button" class="button danger" ref={okRef} data-testid="confirm-ok" onClick={onOk}>
            OK
          </button>
        </div>
      </div>
    </div>
  );
}

export function RoomScreen({ meeting }: { meeting: Meeting }): JSX.Element {
  const [dialog, setDialog] = useState<{ text: string; action: () => void } | null>(null);
  const confirm = (text: string, action: () => void) => setDialog({ text, action });
  const tiles = meeting.tiles();
  const layout = meeting.layout();
  const room = meeting.room;
  return (
    <div class={`room${meeting.panel ? ' with-panel' : ''}`}>
      <header class="room-head">
        <h1 class="room-title">{meeting.videoRoom?.title ?? t('roomLabel')}</h1>
        <span class="room-count" data-testid="count" aria-label={t('inMeeting', { count: meeting.count() })}>
          <Icon name="people" /> {meeting.count()}
        </span>
        {meeting.opts.isObserver && <span class="tag">{t('observer')}</span>}
      </header>
      {meeting.reconnecting && (
        <div class="banner warn" role="alert" data-testid="reconnecting">
          {t('reconnecting')}
        </div>
      )}
      {room && !room.canPlaybackAudio && meeting.audioEnabled && (
        <div class="banner">
          <button type="button" class="button primary" onClick={() => meeting.startAudio()}>
            {t('enableAudio')}
          </button>
        </div>
      )}
      <WaitingBanner meeting={meeting} />
      <div class="room-body">
        <main class="stage-area" aria-label={t('roomLabel')} data-layout={layout}>
          {layout === 'grid' ? <Grid meeting={meeting} tiles={tiles} /> : <Focus meeting={meeting} tiles={tiles} />}
        </main>
        {meeting.panel === 'participants' && <ParticipantsPanel meeting={meeting} confirm={confirm} />}
        {meeting.panel === 'chat' && <ChatPanel meeting={meeting} />}
        {meeting.panel === 'settings' && <SettingsPanel meeting={meeting} />}
      </div>
      <Controls meeting={meeting} confirm={confirm} />
      {meeting.toast && (
        <div class="toast" role="alert">
          {t(meeting.toast.key, meeting.toast.vars)}
        </div>
      )}
      <AudioSink meeting={meeting} />
      {dialog && (
        <ConfirmDialog
          text={dialog.text}
          onCancel={() => setDialog(null)}
          onOk={() => {
            setDialog(null);
            dialog.action();
          }}
        />
      )}
    </div>
  );
}
