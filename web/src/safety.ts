// Blocks, reports and, for administrators, open reports and suspensions (E22):
// the state the web client keeps of them and the requests it makes. The Chat
// store owns one (chat.safety) and passes it `authed` and the events.
import { signal } from '@preact/signals';
import type { Connection } from './connection.js';
import type { Message, ServerFrame } from './types.js';

/** A REPORT, as administrators see it (docs/PROTOCOL.md). */
export interface Report {
  id: string;
  room: string;
  message: string;
  from: string;
  text: string;
  reason: string;
  by: string;
  at: string;
  messageDeleted?: boolean;
}

/** Suspension lengths the Reports dialog offers, in seconds (null: for good). */
export const SUSPENSIONS: readonly { label: string; seconds: number | null }[] = [
  { label: '1 day', seconds: 86400 },
  { label: '7 days', seconds: 7 * 86400 },
  { label: '30 days', seconds: 30 * 86400 },
  { label: 'For good', seconds: null },
];

export class Safety {
  /** the people I blocked (authed.blocks, the `blocks` event) */
  readonly blocks = signal<ReadonlySet<string>>(new Set());
  /** messages of blocked people I chose to show anyway, by id (this tab only) */
  readonly revealed = signal<ReadonlySet<string>>(new Set());
  /** the server's administrators see reports (authed.user.admin) */
  readonly admin = signal(false);
  readonly reports = signal<Report[]>([]);
  readonly reportsOpen = signal(false);
  /** the message the Report dialog is about */
  readonly reportTarget = signal<Message | null>(null);

  constructor(
    private readonly conn: Connection,
    /** a person went out of sight: Chat drops them from who is online */
    private readonly onBlocked: (user: string) => void,
  ) {}

  onAuthed(frame: ServerFrame): void {
    this.setBlocks(frame.blocks);
    this.admin.value = (frame.user as { admin?: unknown } | undefined)?.admin === true;
    if (this.admin.peek()) void this.loadReports().catch(() => {});
  }

  /** `blocks`, `report`: true when handled. */
  onFrame(frame: ServerFrame): boolean {
    if (frame.type === 'blocks') {
      this.setBlocks(frame.blocks);
      return true;
    }
    if (frame.type === 'report' && this.admin.peek()) {
      const report = frame.report as Report;
      if (!this.reports.peek().some((r) => r.id === report.id)) this.reports.value = [...this.reports.peek(), report];
      return true;
    }
    return false;
  }

  isBlocked(user: string): boolean {
    return this.blocks.value.has(user);
  }

  private setBlocks(list: unknown): void {
    if (!Array.isArray(list)) return;
    const next = new Set(list.filter((u): u is string => typeof u === 'string'));
    for (const u of next) if (!this.blocks.peek().has(u)) this.onBlocked(u);
    this.blocks.value = next;
  }

  async block(user: string): Promise<void> {
    this.setBlocks((await this.conn.request({ action: 'block', user })).blocks);
  }

  async unblock(user: string): Promise<void> {
    this.setBlocks((await this.conn.request({ action: 'unblock', user })).blocks);
  }

  reveal(id: string): void {
    this.revealed.value = new Set([...this.revealed.peek(), id]);
  }

  async report(m: Message, reason: string): Promise<void> {
    await this.conn.request({ action: 'report', room: m.room, message: m.id, reason });
  }

  async loadReports(): Promise<void> {
    const all: Report[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.conn.request({ action: 'reports', ...(after ? { after } : {}) });
      all.push(...(page.reports as Report[]));
      if (page.hasMore !== true || !all.length) break;
      after = all.at(-1)!.id;
    }
    this.reports.value = all;
  }

  async resolve(report: Report, outcome: 'dismiss' | 'delete_message'): Promise<void> {
    const reply = await this.conn.request({ action: 'resolve_report', report: report.id, outcome });
    const closed = new Set((reply.closed as string[] | undefined) ?? [report.id]);
    this.reports.value = this.reports.peek().filter((r) => !closed.has(r.id));
  }

  /** Returns the server's sentence ("mallory is suspended until …"). */
  async suspend(user: string, seconds: number | null): Promise<string> {
    const reply = await this.conn.request({ action: 'suspend_user', user, ...(seconds === null ? {} : { seconds }) });
    return String(reply.message ?? `${user} is suspended.`);
  }

  async unsuspend(user: string): Promise<void> {
    await this.conn.request({ action: 'unsuspend_user', user });
  }

  reset(): void {
    this.blocks.value = new Set();
    this.revealed.value = new Set();
    this.admin.value = false;
    this.reports.value = [];
    this.reportsOpen.value = false;
    this.reportTarget.value = null;
  }
}
