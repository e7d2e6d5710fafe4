import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/compat';
import { type Key, t } from '../i18n';
import type { EndReason, Meeting } from '../meeting';

function useFocusHeading(): { ref: (el: HTMLHeadingElement | null) => void } {
  // Move focus to a new screen's heading so screen readers announce it.
  const done = useRef(false);
  return {
    ref: (el) => {
      if (el && !done.current) {
        done.current = true;
        el.focus();
      }
    },
  };
}

export function Loading(): JSX.Element {
  return (
    <div class="card" aria-busy="true">
      <div class="spinner" aria-hidden="true" />
      <p>{t('loading')}</p>
    </div>
  );
}

export function ErrorScreen({ meeting }: { meeting: Meeting }): JSX.Element {
  const h = useFocusHeading();
  const err = meeting.error;
  const code = err?.key ?? 'errUnknown';
  return (
    <div class="card" role="alert" data-error={code}>
      <h1 ref={h.ref} tabIndex={-1}>
        {t('errorTitle')}
      </h1>
      <p data-testid="error-text">{err ? t(err.key, err.vars) : ''}</p>
      {(code === 'errNetwork' || code === 'errMedia' || code === 'errUnknown') && (
        <button type="button" class="button primary" onClick={() => location.reload()}>
          {t('retry')}
        </button>
      )}
    </div>
  );
}

export function TokenForm({ meeting }: { meeting: Meeting }): JSX.Element {
  const [token, setToken] = useState('');
  const h = useFocusHeading();
  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void meeting.useKey(token);
      }}
    >
      <h1 ref={h.ref} tabIndex={-1}>
        {t('tokenTitle')}
      </h1>
      <label class="field">
        <span>{t('tokenLabel')}</span>
        <textarea
          data-testid="token-input"
          rows={4}
          value={token}
          spellcheck={false}
          autoComplete="off"
          onInput={(e) => setToken(e.currentTarget.value)}
        />
      </label>
      <p class="muted-text">{t('tokenHelp')}</p>
      <button type="submit" class="button primary" disabled={!token.trim()}>
        {t('continue')}
      </button>
    </form>
  );
}

export function PasswordScreen({ meeting }: { meeting: Meeting }): JSX.Element {
  const [password, setPassword] = useState('');
  const inputRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    inputRef.current?.focus();
  }, [meeting.passwordWrong]);
  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        void meeting.submitPassword(password);
      }}
    >
      <h1>{t('passwordTitle')}</h1>
      <label class="field">
        <span>{t('passwordLabel')}</span>
        <input
          ref={inputRef}
          type="password"
          data-testid="password"
          autoComplete="off"
          value={password}
          aria-invalid={meeting.passwordWrong}
          aria-describedby={meeting.passwordWrong ? 'password-error' : undefined}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      {meeting.passwordWrong && (
        <p id="password-error" class="notice warn" role="alert" data-testid="password-wrong">
          {t('passwordWrong')}
        </p>
      )}
      <div class="row">
        <button type="submit" class="button primary" data-testid="password-submit" disabled={!password}>
          {t('join')}
        </button>
        <button
          type="button"
          class="button"
          onClick={() => {
            meeting.phase = 'prejoin';
            meeting.changed();
          }}
        >
          {t('cancel')}
        </button>
      </div>
    </form>
  );
}

export function Waiting({ meeting }: { meeting: Meeting }): JSX.Element {
  const h = useFocusHeading();
  return (
    <div class="card" aria-busy="true">
      <div class="spinner" aria-hidden="true" />
      <h1 ref={h.ref} tabIndex={-1}>
        {t('waitingTitle')}
      </h1>
      <p>{t('waitingBody')}</p>
      <button type="button" class="button" data-testid="leave-waiting" onClick={() => void meeting.leave()}>
        {t('leaveWaiting')}
      </button>
    </div>
  );
}

const endText: Record<EndReason, Key> = {
  left: 'endLeft',
  ended: 'endRoomEnded',
  removed: 'endRemoved',
  rejected: 'endRejected',
  duplicate: 'endDuplicate',
  connection: 'endConnection',
};

export function Ended({ meeting }: { meeting: Meeting }): JSX.Element {
  const h = useFocusHeading();
  const reason = meeting.endReason;
  return (
    <div class="card" data-testid="ended">
      <h1 ref={h.ref} tabIndex={-1} data-testid="end-text">
        {t(endText[reason])}
      </h1>
      {(reason === 'left' || reason === 'connection' || reason === 'duplicate') && (
        <button type="button" class="button primary" data-testid="rejoin" onClick={() => location.reload()}>
          {t('rejoin')}
        </button>
      )}
    </div>
  );
}
