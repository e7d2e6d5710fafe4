import { type LocalAudioTrack, type LocalVideoTrack, createAudioAnalyser } from 'livekit-client';
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/compat';
import { t } from '../i18n';
import type { Meeting } from '../meeting';
import { Icon } from './Icons';

function Preview({ track }: { track: LocalVideoTrack | null }): JSX.Element {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el || !track) return;
    track.attach(el);
    return () => {
      track.detach(el);
    };
  }, [track]);
  return <video ref={ref} class="mirror" autoplay playsInline muted aria-label={t('preview')} data-testid="preview" />;
}

export function MicMeter({ track }: { track: LocalAudioTrack | null }): JSX.Element {
  const barRef = useRef<HTMLSpanElement>(null);
  const meterRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const bar = barRef.current;
    const meter = meterRef.current;
    if (!bar || !meter) return;
    if (!track) {
      bar.style.transform = 'scaleX(0)';
      meter.setAttribute('aria-valuenow', '0');
      return;
    }
    const { calculateVolume, cleanup } = createAudioAnalyser(track, { cloneTrack: true });
    let frame = 0;
    let last = -1;
    const tick = () => {
      const level = Math.min(1, calculateVolume() * 2.5);
      bar.style.transform = `scaleX(${level.toFixed(3)})`;
      const pct = Math.round(level * 100);
      if (pct !== last) {
        meter.setAttribute('aria-valuenow', String(pct));
        meter.dataset.level = String(pct);
        last = pct;
      }
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
    return () => {
      cancelAnimationFrame(frame);
      void cleanup();
    };
  }, [track]);
  return (
    <div
      class="meter"
      ref={meterRef}
      role="meter"
      aria-label={t('micLevel')}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={0}
      data-testid="mic-meter"
    >
      <span ref={barRef} class="meter-bar" />
    </div>
  );
}

export function DeviceSelects({ meeting, outputOnly }: { meeting: Meeting; outputOnly?: boolean }): JSX.Element {
  const { devices } = meeting;
  const room = meeting.room;
  // What is in use (the room knows in the call); else the choice; else the first device, which
  // is what the browser uses by default.
  const current = (kind: MediaDeviceKind, chosen: string, list: MediaDeviceInfo[]) => {
    const id = room?.getActiveDevice(kind) ?? chosen;
    return list.some((d) => d.deviceId === id) ? id : (list[0]?.deviceId ?? '');
  };
  const select = (kind: MediaDeviceKind, label: string, list: MediaDeviceInfo[], chosen: string) =>
    list.length > 0 ? (
      <label class="field">
        <span>{label}</span>
        <select
          data-testid={`select-${kind}`}
          value={current(kind, chosen, list)}
          onChange={(e) => void meeting.chooseDevice(kind, e.currentTarget.value)}
        >
          {list.map((d, i) => (
            <option key={d.deviceId} value={d.deviceId}>
              {d.label || `${label} ${i + 1}`}
            </option>
          ))}
        </select>
      </label>
    ) : null;
  return (
    <div class="devices">
      {!outputOnly && select('videoinput', t('camera'), devices.videoinput, meeting.videoDeviceId)}
      {!outputOnly && select('audioinput', t('microphone'), devices.audioinput, meeting.audioDeviceId)}
      {select('audiooutput', t('speaker'), devices.audiooutput, meeting.outputDeviceId)}
    </div>
  );
}

export function PreJoin({ meeting }: { meeting: Meeting }): JSX.Element {
  const observer = meeting.opts.isObserver;
  const joining = meeting.phase === 'joining';
  const nameRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    nameRef.current?.focus();
  }, []);
  return (
    <div class="prejoin">
      <h1>{t('prejoinTitle')}</h1>
      {meeting.videoRoom?.title ? <p class="room-name">{meeting.videoRoom.title}</p> : null}
      <div class="prejoin-grid">
        {!observer && (
          <div class="preview">
            <Preview track={meeting.previewVideo} />
            {!meeting.previewVideo && <div class="preview-off">{t('cameraOff')}</div>}
            <div class="preview-controls">
              <button
                type="button"
                class={`control${meeting.micOn ? '' : ' off'}`}
                aria-pressed={!meeting.micOn}
                aria-label={meeting.micOn ? t('mute') : t('unmute')}
                title={`${meeting.micOn ? t('mute') : t('unmute')} (Ctrl/⌘+D)`}
                data-testid="prejoin-mic"
                onClick={() => void meeting.setPreviewMic(!meeting.micOn)}
              >
                <Icon name={meeting.micOn ? 'mic' : 'micOff'} />
              </button>
              <button
                type="button"
                class={`control${meeting.camOn ? '' : ' off'}`}
                aria-pressed={!meeting.camOn}
                aria-label={meeting.camOn ? t('stopCamera') : t('startCamera')}
                title={`${meeting.camOn ? t('stopCamera') : t('startCamera')} (Ctrl/⌘+E)`}
                data-testid="prejoin-camera"
                onClick={() => void meeting.setPreviewCamera(!meeting.camOn)}
              >
                <Icon name={meeting.camOn ? 'cam' : 'camOff'} />
              </button>
            </div>
          </div>
        )}
        <form
          class="prejoin-form"
          onSubmit={(e) => {
            e.preventDefault();
            void meeting.join();
          }}
        >
          {observer && <p class="notice">{t('prejoinObserver')}</p>}
          <label class="field">
            <span>{t('yourName')}</span>
            <input
              ref={nameRef}
              type="text"
              data-testid="name"
              value={meeting.name}
              maxLength={100}
              autoComplete="name"
              onInput={(e) => {
                meeting.name = e.currentTarget.value;
                meeting.changed();
              }}
            />
          </label>
          {!observer && (
            <>
              <DeviceSelects meeting={meeting} />
              <div class="field">
                <span aria-hidden="true">{t('micLevel')}</span>
                <MicMeter track={meeting.previewAudio} />
              </div>
              {meeting.camError && (
                <p class="notice warn" role="alert" data-testid="camera-error">
                  {t(meeting.camError.key, meeting.camError.vars)}
                </p>
              )}
              {meeting.micError && (
                <p class="notice warn" role="alert" data-testid="mic-error">
                  {t(meeting.micError.key, meeting.micError.vars)}
                </p>
              )}
              <p class="muted-text">{t('shortcuts')}</p>
            </>
          )}
          <button type="submit" class="button primary big" data-testid="join" disabled={joining}>
            {joining ? t('joining') : t('joinNow')}
          </button>
        </form>
      </div>
    </div>
  );
}
