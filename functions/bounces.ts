// SES bounces and complaints (E24): SES's configuration set publishes them to an
// SNS topic this function is subscribed to. A permanent bounce or a complaint
// puts the address on the suppression list (mail_suppressions): email notices
// skip it from then on. Transient bounces and other events change nothing.
import { getDeps } from './adapters/runtime.js';
import { recordSesEvent, type SesNotification } from './core/notices.js';
import { observed } from './route.js';

/** The part of an SNS event this reads. */
export interface SnsEvent {
  Records: Array<{ Sns: { Message: string; MessageId?: string } }>;
}

export async function handler(event: SnsEvent, context?: unknown): Promise<{ suppressed: number }> {
  const deps = await getDeps();
  return observed(deps, context, 'bounces', async () => {
    let suppressed = 0;
    for (const record of event.Records ?? []) {
      let message: SesNotification;
      try {
        message = JSON.parse(record.Sns.Message) as SesNotification;
      } catch {
        // Not SES's JSON: nothing to act on, and nothing of it is logged (it may hold addresses).
        deps.log.warn('mail event is not JSON', { messageId: record.Sns.MessageId });
        continue;
      }
      if (typeof message !== 'object' || message === null) continue;
      suppressed += await recordSesEvent(deps.sql, message);
    }
    // A count only: addresses are personal data and stay out of the logs.
    if (suppressed) deps.log.info('mail addresses suppressed', { count: suppressed });
    return { suppressed };
  });
}
