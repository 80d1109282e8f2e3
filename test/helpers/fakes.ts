// Fakes only at the edge: a mailer that records, a gateway that records.
import type { Frame, Gateway, Logger, Mail, Mailer } from '../../functions/core/ports.js';

export class RecordingMailer implements Mailer {
  readonly sent: Mail[] = [];
  private waiters: Array<() => void> = [];

  async send(mail: Mail): Promise<void> {
    this.sent.push(mail);
    for (const w of this.waiters.splice(0)) w();
  }

  to(email: string): Mail[] {
    return this.sent.filter((m) => m.to.toLowerCase() === email.toLowerCase());
  }

  /** The code of the newest email to this address, waiting for one if needed. */
  async codeFor(email: string, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const code = this.to(email)
        .map((m) => /\b(\d{6})\b/.exec(m.subject)?.[1])
        .filter(Boolean)
        .at(-1);
      if (code) return code;
      if (Date.now() > deadline) throw new Error(`no code mailed to ${email}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
}

export class RecordingGateway implements Gateway {
  readonly posts: Array<{ to: string; frame: Frame }> = [];
  readonly disconnected: string[] = [];
  /** connections that answer 410 */
  readonly gone = new Set<string>();

  async post(connectionIds: readonly string[], frame: Frame): Promise<string[]> {
    const gone: string[] = [];
    for (const to of connectionIds) {
      if (this.gone.has(to)) gone.push(to);
      else this.posts.push({ to, frame });
    }
    return gone;
  }

  async disconnect(connectionId: string): Promise<void> {
    this.disconnected.push(connectionId);
  }

  framesTo(connectionId: string): Frame[] {
    return this.posts.filter((p) => p.to === connectionId).map((p) => p.frame);
  }

  clear(): void {
    this.posts.length = 0;
    this.disconnected.length = 0;
  }
}

/** A logger that keeps its lines, so a test can look for a security event. */
export class RecordingLogger implements Logger {
  readonly lines: Array<{ level: 'info' | 'warn' | 'error'; message: string; fields: Record<string, unknown> }> = [];

  info(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'info', message, fields });
  }

  warn(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'warn', message, fields });
  }

  error(message: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'error', message, fields });
  }

  /** The fields of each security event of this name, in order. */
  events(name: string): Array<Record<string, unknown>> {
    return this.lines.filter((l) => l.fields.security === name).map((l) => l.fields);
  }
}
