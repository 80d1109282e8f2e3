// Older history loads as the reader scrolls up: an IntersectionObserver watches a
// sentinel at the top of the message list and asks for the page before the first
// message when it comes near. MessageList keeps what the reader was looking at in
// place when the page arrives; its "Load earlier messages" button stays as the
// fallback for keyboards, screen readers and browsers without the observer.
import type { RefObject } from 'preact';
import { useEffect } from 'preact/hooks';
import type { RoomState } from '../chat.js';

/** Start loading this far before the top is reached, so scrolling rarely has to wait. */
const AHEAD = '400px';

export function useOlderOnScrollUp(
  scroller: RefObject<HTMLElement>,
  sentinel: RefObject<HTMLElement>,
  room: RoomState,
  load: () => void,
): void {
  const hasOlder = room.hasOlder.value;
  const loading = room.loadingOlder.value;
  const first = room.messages.value[0]?.id;
  useEffect(() => {
    const root = scroller.current;
    const target = sentinel.current;
    if (!hasOlder || loading || !root || !target || typeof IntersectionObserver === 'undefined') return;
    // A new observer reports at once where the sentinel is, so after each page (a
    // new first message) one that is still in view asks for the next.
    const observer = new IntersectionObserver(
      (entries) => {
        if (!entries.some((e) => e.isIntersecting)) return;
        observer.disconnect();
        load();
      },
      { root, rootMargin: `${AHEAD} 0px 0px 0px` },
    );
    observer.observe(target);
    return () => observer.disconnect();
  }, [room, hasOlder, loading, first]);
}
