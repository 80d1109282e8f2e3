import { useEffect } from 'preact/hooks';
import { ChatScreen } from './ChatScreen.js';
import { ReportMessageDialog, ReportsDialog } from './Reports.js';
import { useChat } from './context.js';
import { GuideDialog, HelpDialog } from './Help.js';
import { BrandMark } from './icons.js';
import { CodeScreen, Welcome } from './Welcome.js';
import { SecondFactorScreen } from './SecondFactor.js';

export function App() {
  const chat = useChat();
  // "?" opens the help from anywhere, unless someone is typing
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      const typing = target?.closest('input, textarea, [contenteditable="true"], emoji-picker');
      if (e.key === '?' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        chat.helpOpen.value = true;
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  const screen = chat.screen.value;
  const toast = chat.toast.value;
  return (
    <>
      {screen === 'loading' && <Loading />}
      {screen === 'welcome' && <Welcome />}
      {screen === 'code' && <CodeScreen />}
      {screen === 'second_factor' && <SecondFactorScreen />}
      {screen === 'chat' && <ChatScreen />}
      <HelpDialog />
      <GuideDialog />
      {screen === 'chat' && (
        <>
          <ReportMessageDialog />
          <ReportsDialog />
        </>
      )}
      <div class="sr-only" aria-live="polite" aria-atomic="true" data-testid="announcer">
        {chat.announcement.value}
      </div>
      <div class="toast-area" role="status">
        {toast && <div class={toast.error ? 'toast error' : 'toast'}>{toast.text}</div>}
      </div>
    </>
  );
}

function Loading() {
  const chat = useChat();
  const status = chat.conn.status.value;
  return (
    <main class="splash">
      <BrandMark size={48} />
      <h1 class="sr-only">Wild Whispers</h1>
      <p role="status">{status === 'waiting' ? 'Cannot reach the server yet. Retrying…' : 'Connecting…'}</p>
      {status === 'waiting' && (
        <button type="button" class="btn" onClick={() => chat.conn.reconnectNow()}>
          Retry now
        </button>
      )}
    </main>
  );
}
