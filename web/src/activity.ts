// *(E25)* Whether the person is looking at this tab: `hidden` when the tab is in
// the background, `idle` after IDLE_MS without input, else `active`. The server
// counts a person away when every tab is idle or hidden, and pushes only to
// people with no active tab. Reports go out when the state changes, debounced
// (a quick tab switch and back sends nothing), and again after every sign-in.

/** No input for this long is idle. */
export const IDLE_MS = 10 * 60 * 1000;
/** A change must last this long before it is reported. */
export const DEBOUNCE_MS = 1500;

export type ActivityState = 'active' | 'idle' | 'hidden';

export function activityState(visible: boolean, lastInputAt: number, now: number): ActivityState {
  if (!visible) return 'hidden';
  return now - lastInputAt >= IDLE_MS ? 'idle' : 'active';
}

const INPUT_EVENTS = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart', 'scroll'] as const;

export class ActivityReporter {
  private lastInput = Date.now();
  /** what the server has been told on this connection ('active' is its default) */
  private reported: ActivityState = 'active';
  private debounce: ReturnType<typeof setTimeout> | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private started = false;

  constructor(private readonly report: (state: ActivityState) => Promise<unknown>) {}

  start(): void {
    if (this.started || typeof document === 'undefined') return;
    this.started = true;
    document.addEventListener('visibilitychange', () => this.changed());
    for (const type of INPUT_EVENTS) window.addEventListener(type, () => this.input(), { passive: true, capture: true });
    this.armIdle();
  }

  /** A fresh connection starts active on the server: tell it otherwise at once. */
  signedIn(): void {
    this.reported = 'active';
    this.flush();
  }

  current(): ActivityState {
    return activityState(document.visibilityState === 'visible', this.lastInput, Date.now());
  }

  private input(): void {
    const wasIdle = this.current() === 'idle';
    this.lastInput = Date.now();
    this.armIdle();
    if (wasIdle) this.changed();
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.changed(), IDLE_MS + 50);
  }

  private changed(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.flush(), DEBOUNCE_MS);
  }

  private flush(): void {
    clearTimeout(this.debounce);
    const state = this.current();
    if (state === this.reported) return;
    this.reported = state;
    // refused (offline, over budget): the next change or sign-in says it again
    this.report(state).catch(() => (this.reported = 'active'));
  }
}
