// The help panel (answers and shortcuts, open at any time) and the first-run guide.
import { useState } from 'preact/hooks';
import { Dialog } from './Dialog.js';
import { describeError } from './Field.js';
import { useChat } from './context.js';

const FAQ: Array<[string, string]> = [
  ['How do I start or join a channel?', 'In the sidebar, under Channels, choose "Join or create a channel" and type a name such as book-club. If it does not exist yet, it is created and you are its first member.'],
  ['How do I send a direct message?', 'Choose a person in the People list, or "Message someone by name" under Direct messages. Only the two of you can read the conversation.'],
  ['Can I write on several lines, or add emoji?', 'Shift+Enter starts a new line; Enter sends. The smiley button next to the message box opens the emoji picker.'],
  ['What happens if my connection drops?', 'The dot at the top turns grey and the app reconnects by itself, waiting a little longer after each try. Meanwhile nobody shows as online (a hollow dot and a dash: it is unknown who is). When it is back, everything sent in the meantime appears in order, and messages you wrote while offline go out.'],
  ['What if I reload the page?', 'You stay logged in, in the room you had open, and what you had typed but not sent is still in the message box (in the same tab).'],
  ['How do I see older messages?', 'Scroll up: earlier messages load as you go, and what you were reading stays in place. The "Load earlier messages" button at the top does the same.'],
  ['How do I find channels?', '"Browse channels" in the sidebar lists the public channels with their topic and member count; type to search names and topics, then Join. Private channels are not listed: a member has to invite you.'],
  ['Who runs a channel?', 'Whoever creates a channel owns it and can make members moderators. From "Manage channel" at the top, owners and moderators set the topic, rename the channel, make it private or public, and remove or ban people; any member can invite someone. They can also remove any message ("Message actions" → Remove…), which then shows "removed by a moderator". #general belongs to everyone.'],
  ['How do I leave a channel?', 'Open it and choose Leave at the top right. Everyone stays in #general, and direct messages cannot be left.'],
  ['Can I edit a message?', 'Yes, your own: open its "Message actions" menu (the … button beside it) and choose Edit, or press ↑ in an empty message box to edit your last one. Enter saves, Escape cancels. An edited message says "edited" (hover or focus it for when).'],
  ['Can I delete what I wrote?', 'Yes. One message: "Message actions" → Delete…; everyone then sees "message deleted" in its place. Everything at once: "Delete my messages" at the bottom of the sidebar removes every message you have sent, for everyone. Neither can be undone.'],
  ['How do I answer a message, or react to it?', 'In its "Message actions" menu choose Reply: the box shows "Replying to …" (the × cancels). Your answer quotes the first line of the original; click the quote to jump to it. Reactions are in the same menu (👍 ❤️ 😂 🎉 😮 😢, or "Add reaction…" for any emoji). Click a reaction under a message to add yours or take it back; hover it to see who reacted.'],
  ['How do I mention someone?', 'Type @ and the first letters of their name: a list of the room\'s members appears (↑ ↓ to choose, Enter or Tab to pick, Escape to close). They are told, and the room shows an @ badge in their sidebar. @here mentions everyone in a channel.'],
  ['Can I format my messages?', 'Yes, with Markdown: **bold**, _italic_, ~~struck out~~, `code`, a block of code between lines of ```, > for a quote, - or 1. for lists, and [text](https://address) for a link (the link also shows where it really goes). Anything that looks like HTML shows as typed.'],
  ['Who sees that I read their message?', 'In a direct message, "Seen" appears under your last message the other person has read, and the same for them. You can turn read receipts off below the keyboard shortcuts in this panel: then nobody sees yours and you see nobody\'s. Unread counts follow you across your devices either way.'],
  ['What does "alice is typing…" mean?', 'Someone in the room is writing. It goes away a few seconds after they stop, or as soon as their message arrives.'],
  ['How do I find an old message?', 'Type in the search box at the top (Ctrl+K, ⌘K or / takes you there). It looks through every room you are in, newest first, as you type; the last word counts as the start of a word. Add "quotes" for an exact phrase, -word to leave one out, from:@name, in:#channel or in:@name, before:2026-12-01 or after:2026-11-01. ↓ moves into the results, Enter opens one in its room.'],
  ['Why am I asked for a code?', 'We email a 6-digit code to confirm your address when you sign up. It works once and only for a few minutes; "Send a new code" gets a fresh one.'],
  ['Why was I logged out?', 'Logging out in one tab logs out every other tab of this browser too: they go back to the welcome screen and say so. Sessions also end after 30 days.'],
  ['Why do some words show as stars?', 'A word filter replaces common swear words with stars (****) before a message is stored, so everyone sees the masked version. Whoever runs the server can set it to refuse such messages instead, or turn it off.'],
  ['Is my password safe?', 'It is stored only as a slow, salted hash (scrypt), never as text. Messages are shown as plain text: nothing anyone sends can run code in your browser.'],
];

const SHORTCUTS: Array<[string, string]> = [
  ['Enter', 'Send the message (or save an edit)'],
  ['Shift + Enter', 'New line'],
  ['↑ in an empty message box', 'Edit your last message'],
  ['@', 'Mention someone: ↑ / ↓ to choose, Enter or Tab to pick'],
  ['Alt + ↑ / Alt + ↓', 'Previous / next room'],
  ['Ctrl + K, ⌘ + K, or / (outside the message box)', 'Search messages: ↓ / ↑ through the results, Enter opens one'],
  ['?', 'Open this help (outside the message box)'],
  ['Tab / Shift + Tab', 'Move between controls'],
  ['Escape', 'Close a panel or the emoji picker'],
];

export function HelpDialog() {
  const chat = useChat();
  const loggedIn = chat.screen.value === 'chat';
  return (
    <Dialog open={chat.helpOpen.value} onClose={() => (chat.helpOpen.value = false)} title="Help" wide>
      <h3>Questions and answers</h3>
      <div class="faq">
        {FAQ.map(([q, a]) => (
          <details key={q}>
            <summary>{q}</summary>
            <p>{a}</p>
          </details>
        ))}
      </div>
      <h3>Keyboard</h3>
      <table class="shortcuts">
        <caption class="sr-only">Keyboard shortcuts</caption>
        <tbody>
          {SHORTCUTS.map(([k, what]) => (
            <tr key={k}>
              <th scope="row">
                <kbd>{k}</kbd>
              </th>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {loggedIn && chat.readReceipts.value !== null && <ReceiptsSetting />}
      {loggedIn && (
        <p>
          <button
            type="button"
            class="btn ghost"
            onClick={() => {
              chat.helpOpen.value = false;
              chat.guideOpen.value = true;
            }}
          >
            Show the welcome tour again
          </button>
        </p>
      )}
    </Dialog>
  );
}

/** Read receipts on or off (`settings`): the server remembers it for every device. */
function ReceiptsSetting() {
  const chat = useChat();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** what was asked for, shown until the server answers */
  const [asked, setAsked] = useState<boolean | null>(null);
  const on = asked ?? chat.readReceipts.value === true;
  return (
    <>
      <h3>Settings</h3>
      <div class="setting">
        <input
          id="read-receipts"
          type="checkbox"
          checked={on}
          disabled={busy}
          aria-describedby="read-receipts-note"
          onChange={async (e) => {
            const want = e.currentTarget.checked;
            setAsked(want);
            setBusy(true);
            setError(null);
            try {
              await chat.setReadReceipts(want);
            } catch (err) {
              setError(describeError(err));
            } finally {
              setAsked(null);
              setBusy(false);
            }
          }}
        />
        <label for="read-receipts">Read receipts</label>
        <p id="read-receipts-note" class="setting-note">
          In direct messages, show "Seen" when the other person has read your message, and let them see when you have
          read theirs. Off: neither.
        </p>
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
      </div>
    </>
  );
}

const STEPS: Array<{ title: string; body: string }> = [
  { title: 'Welcome to Wild Whispers', body: 'You are in #general, where everyone meets. Say hello! Your messages appear for everyone at once.' },
  { title: 'Channels for every topic', body: 'Under Channels in the sidebar, join a channel or create one just by typing its name.' },
  { title: 'Whisper to one person', body: 'Pick anyone from the People list to open a private conversation. A green dot means they are online now.' },
  { title: 'Write the way you like', body: 'Enter sends, Shift+Enter starts a new line, and the smiley button opens the emoji picker. Help is always behind the ? button at the top.' },
];

export function GuideDialog() {
  const chat = useChat();
  const [step, setStep] = useState(0);
  const open = chat.guideOpen.value && chat.screen.value === 'chat';
  const s = STEPS[step]!;
  const last = step === STEPS.length - 1;
  const done = () => {
    chat.finishGuide();
    setStep(0);
  };
  return (
    <Dialog
      open={open}
      onClose={done}
      title={s.title}
      footer={
        <>
          <span class="steps" aria-hidden="true">
            {STEPS.map((_, i) => (
              <span key={i} class={i === step ? 'step on' : 'step'} />
            ))}
          </span>
          <span class="sr-only">
            Step {step + 1} of {STEPS.length}
          </span>
          {step > 0 ? (
            <button type="button" class="btn ghost" onClick={() => setStep(step - 1)}>
              Back
            </button>
          ) : (
            <button type="button" class="btn ghost" onClick={done}>
              Skip the tour
            </button>
          )}
          <button type="button" class="btn primary" onClick={() => (last ? done() : setStep(step + 1))}>
            {last ? 'Start chatting' : 'Next'}
          </button>
        </>
      }
    >
      <p class="guide-body">{s.body}</p>
    </Dialog>
  );
}
