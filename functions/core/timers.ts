// The disappearing-messages timers and how people say them: pure, so the server,
// the web client and the CLI share one list and one wording.
import type { ChatSettings } from './ports.js';

/** The timers a person may choose, in seconds: 5 minutes, an hour, a day, a week. */
export const TIMERS = [5 * 60, 60 * 60, 24 * 60 * 60, 7 * 24 * 60 * 60] as const;

/** The timers this server takes: TIMERS, and the test-only one when configured. */
export function allowedTimers(settings: Pick<ChatSettings, 'disappearTestSeconds'>): number[] {
  return settings.disappearTestSeconds ? [settings.disappearTestSeconds, ...TIMERS] : [...TIMERS];
}

/** "5 seconds", "5 minutes", "1 hour", "1 day", "1 week": a timer as people say it. */
export function describeTimer(seconds: number): string {
  const units: [number, string][] = [
    [7 * 24 * 60 * 60, 'week'],
    [24 * 60 * 60, 'day'],
    [60 * 60, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  const [size, unit] = units.find(([size]) => seconds % size === 0)!;
  const count = seconds / size;
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/**
 * The announcement's text after the name of who changed the timer: clients
 * without this extension show it as it is ("alice" + this).
 */
export function announcement(seconds: number | null): string {
  return seconds === null ? ' turned off disappearing messages' : ` set messages to disappear after ${describeTimer(seconds)}`;
}
