// Message search (docs/PROTOCOL.md, E15): a box in the top bar (Ctrl+K, ⌘K or
// `/` go to it when not typing elsewhere), the results in a panel below it,
// newest first, each opening its message in its room. Arrows move between the
// results, Enter opens one, Escape goes back to the box and then closes.
import { useEffect, useRef, useState } from 'preact/hooks';
import { snippetSegments, isTypingTarget } from '../search.js';
import type { SearchResult } from '../types.js';
import { fullTimeLabel, dayLabel, timeLabel } from '../time.js';
import { describeError } from './Field.js';
import { useChat } from './context.js';
import { CloseIcon, SearchIcon } from './icons.js';

/** Quiet time after a keystroke before the query goes out. */
const DEBOUNCE_MS = 300;

interface Found {
  query: string;
  results: SearchResult[];
  next: string | null;
}

export function SearchBox() {
  const chat = useChat();
  const [query, setQuery] = useState('');
  const [open, setOpen] = useState(false);
  const [found, setFound] = useState<Found | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const list = useRef<HTMLOListElement>(null);
  // Only the latest query's answer is shown; an earlier one arriving late is dropped.
  const latest = useRef(0);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if ((mod && e.key.toLowerCase() === 'k') || (e.key === '/' && !mod && !e.altKey && !isTypingTarget(e.target))) {
        e.preventDefault();
        input.current?.focus();
        input.current?.select();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const run = async (q: string) => {
    const n = ++latest.current;
    if (!q.trim()) {
      setFound(null);
      setError(null);
      setOpen(false);
      return;
    }
    setOpen(true);
    setBusy(true);
    try {
      const page = await chat.search(q);
      if (n !== latest.current) return;
      setFound({ query: q, ...page });
      setError(null);
    } catch (err) {
      if (n !== latest.current) return;
      setFound(null);
      setError(describeError(err));
    } finally {
      if (n === latest.current) setBusy(false);
    }
  };

  useEffect(() => {
    const t = setTimeout(() => void run(query), DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [query]);

  const more = async () => {
    if (!found?.next) return;
    const n = latest.current;
    setBusy(true);
    try {
      const page = await chat.search(found.query, found.next);
      if (n !== latest.current) return;
      setFound({ query: found.query, results: [...found.results, ...page.results], next: page.next });
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const close = () => {
    setOpen(false);
    input.current?.focus();
  };

  const pick = (r: SearchResult) => {
    setOpen(false);
    void chat.openMessage(r.message.room, r.message.id);
  };

  const buttons = () => [...(list.current?.querySelectorAll<HTMLButtonElement>('button.search-result') ?? [])];
  const onResultKey = (e: KeyboardEvent, i: number) => {
    const all = buttons();
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = i + (e.key === 'ArrowDown' ? 1 : -1);
      if (next < 0) input.current?.focus();
      else all[Math.min(next, all.length - 1)]?.focus();
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      (e.key === 'Home' ? all[0] : all.at(-1))?.focus();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      input.current?.focus();
    }
  };

  const count = found?.results.length ?? 0;
  return (
    <div class="search">
      <form
        role="search"
        class="search-form"
        onSubmit={(e) => {
          e.preventDefault();
          // Enter: search now; with results shown, open the first
          if (open && found?.query === query && found.results[0]) pick(found.results[0]);
          else void run(query);
        }}
      >
        <label for="search-input" class="sr-only">
          Search messages
        </label>
        <span class="search-icon" aria-hidden="true">
          <SearchIcon size={18} />
        </span>
        <input
          id="search-input"
          ref={input}
          type="search"
          value={query}
          placeholder="Search (Ctrl+K)"
          autocomplete="off"
          autocapitalize="none"
          spellcheck={false}
          maxLength={500}
          aria-describedby="search-help"
          aria-controls="search-panel"
          onInput={(e) => setQuery(e.currentTarget.value)}
          onFocus={() => query.trim() && (found || error) && setOpen(true)}
          onKeyDown={(e) => {
            if (e.key === 'ArrowDown' && open) {
              e.preventDefault();
              buttons()[0]?.focus();
            } else if (e.key === 'Escape' && open) {
              e.preventDefault();
              setOpen(false);
            }
          }}
        />
        <span id="search-help" class="sr-only">
          Words, "an exact phrase", -word to leave out, from:@name, in:#channel, in:@name, before: and after: a date. Results appear
          below as you type; use the arrow keys to move through them and Enter to open one.
        </span>
      </form>
      <section id="search-panel" class="search-panel" aria-label="Search results" hidden={!open}>
        <div class="search-head">
          <p role="status" class="search-status">
            {busy ? 'Searching…' : error ? 'The search could not run.' : found ? describeCount(count, found.next !== null) : ''}
          </p>
          <button type="button" class="icon-btn" aria-label="Close search results" onClick={close}>
            <CloseIcon />
          </button>
        </div>
        {error && (
          <p class="field-error search-error" role="alert">
            {error}
          </p>
        )}
        {found && count === 0 && !error && <NoResults query={found.query} />}
        {found && count > 0 && (
          <ol class="search-results" ref={list} aria-label={`Messages matching ${found.query.trim()}`}>
            {found.results.map((r, i) => (
              <li key={r.message.id}>
                <ResultButton result={r} onPick={() => pick(r)} onKeyDown={(e) => onResultKey(e, i)} />
              </li>
            ))}
          </ol>
        )}
        {found?.next && (
          <button type="button" class="btn small ghost search-more" disabled={busy} onClick={() => void more()}>
            More results
          </button>
        )}
      </section>
    </div>
  );
}

function describeCount(n: number, more: boolean): string {
  if (n === 0) return 'No results';
  return `${n}${more ? '+' : ''} ${n === 1 ? 'result' : 'results'}`;
}

function ResultButton({ result, onPick, onKeyDown }: { result: SearchResult; onPick: () => void; onKeyDown: (e: KeyboardEvent) => void }) {
  const chat = useChat();
  const { message, highlights } = result;
  const room = chat.room(message.room);
  const where = room ? room.label : message.room;
  return (
    <button type="button" class="search-result" onClick={onPick} onKeyDown={onKeyDown}>
      <span class="search-meta">
        <span class="search-from">{message.from}</span>
        <span class="search-where">{room?.kind === 'dm' ? `with ${where}` : `in ${where}`}</span>
        <time dateTime={message.at} title={fullTimeLabel(message.at)}>
          {dayLabel(message.at)}, {timeLabel(message.at)}
        </time>
      </span>
      <span class="search-text">
        {snippetSegments(message.text, highlights).map((s, i) => (s.mark ? <mark key={i}>{s.text}</mark> : s.text))}
      </span>
    </button>
  );
}

function NoResults({ query }: { query: string }) {
  return (
    <div class="search-empty">
      <p>No messages in your rooms match “{query.trim()}”.</p>
      <p>Try:</p>
      <ul>
        <li>fewer words, or the start of a word (deplo finds deploy and deployment)</li>
        <li>removing a filter, or widening before: and after:</li>
        <li>from:@name or in:#channel to list someone’s or a room’s messages</li>
      </ul>
    </div>
  );
}
