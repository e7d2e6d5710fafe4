import type { JSX } from 'preact';
import { useEffect } from 'preact/compat';
import { useMeeting } from '../hooks';
import type { Meeting } from '../meeting';
import { PreJoin } from './PreJoin';
import { RoomScreen } from './Room';
import { Ended, ErrorScreen, Loading, PasswordScreen, TokenForm, Waiting } from './Screens';

/** `data-screen` of each phase (the tests and the embedding page can read it). */
function screenOf(meeting: Meeting): string {
  switch (meeting.phase) {
    case 'loading':
      return 'loading';
    case 'token':
      return 'token';
    case 'error':
      return 'error';
    case 'prejoin':
    case 'joining':
      return 'prejoin';
    case 'password':
      return 'password';
    case 'waiting':
      return 'waiting';
    case 'room':
      return 'room';
    case 'ended':
      return 'ended';
  }
}

function Body({ meeting }: { meeting: Meeting }): JSX.Element {
  switch (meeting.phase) {
    case 'loading':
      return <Loading />;
    case 'token':
      return <TokenForm meeting={meeting} />;
    case 'error':
      return <ErrorScreen meeting={meeting} />;
    case 'prejoin':
    case 'joining':
      return <PreJoin meeting={meeting} />;
    case 'password':
      return <PasswordScreen meeting={meeting} />;
    case 'waiting':
      return <Waiting meeting={meeting} />;
    case 'room':
      return <RoomScreen meeting={meeting} />;
    case 'ended':
      return <Ended meeting={meeting} />;
  }
}

export function App({ meeting }: { meeting: Meeting }): JSX.Element {
  useMeeting(meeting);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey) || e.altKey || e.shiftKey) return;
      const key = e.key.toLowerCase();
      if (key !== 'd' && key !== 'e') return;
      if (meeting.phase !== 'room' && meeting.phase !== 'prejoin') return;
      e.preventDefault();
      if (key === 'd') void meeting.toggleMic();
      else void meeting.toggleCamera();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [meeting]);
  const screen = screenOf(meeting);
  return (
    <div
      class={`app screen-${screen}`}
      data-screen={screen}
      data-reason={meeting.phase === 'ended' ? meeting.endReason : meeting.phase === 'error' ? meeting.error?.key : undefined}
    >
      <Body meeting={meeting} />
      <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-testid="announcer">
        {meeting.announcement}
      </div>
    </div>
  );
}
