// Email notices (E24) on the Lambda wiring with the real AWS SDK against local
// stand-ins: the sweep mails a due notice through SES's SendRawEmail with the
// List-Unsubscribe headers (RFC 8058); the unsubscribe function answers a
// function URL event (GET: a page, nothing changed; POST One-Click: notices off);
// the bounces function takes an SNS-delivered SES bounce and suppresses the
// address, after which no notice goes to it.
import { describe, expect, it } from 'vitest';
import { handler as onBounces } from '../../functions/bounces.js';
import { send } from '../../functions/core/messages.js';
import { dmRoomId, parseRoom } from '../../functions/core/names.js';
import { handler as onSweep } from '../../functions/sweep.js';
import { handler as onUnsubscribe, type FunctionUrlEvent } from '../../functions/unsubscribe.js';
import { useAwsHosting } from './aws-hosting.js';

const UNSUBSCRIBE_URL = 'https://abcdefghijklmnop.lambda-url.eu-west-1.on.aws/';

const aws = useAwsHosting(() => ({ NOTICE_DELAY_SECONDS: '0', PUBLIC_URL: 'https://chat.example.org', UNSUBSCRIBE_URL }));

let n = 0;
async function person(name: string): Promise<{ id: string; name: string; email: string; conn: string }> {
  const username = `${name}${++n}`;
  const email = `${username}@example.com`;
  const [u] = await aws.deps.sql<{ id: string }[]>`
    insert into users (username, display_name, email, email_lower, password_hash, verified_at)
    values (${username}, ${username}, ${email}, ${email}, 'x', now()) returning id::text`;
  const conn = `${username}-conn=`;
  aws.fake.open(conn);
  await aws.deps.sql`insert into connections (id, user_id, authed_at) values (${conn}, ${u!.id}, now())`;
  return { id: u!.id, name: username, email, conn };
}

async function dmFrom(from: Awaited<ReturnType<typeof person>>, to: Awaited<ReturnType<typeof person>>, text: string): Promise<string> {
  const room = dmRoomId(from.name, to.name);
  await aws.deps.sql`insert into rooms (id, kind) values (${room}, 'dm') on conflict do nothing`;
  await aws.deps.sql`insert into memberships (room_id, user_id) values (${room}, ${from.id}), (${room}, ${to.id}) on conflict do nothing`;
  await send(aws.deps, from.conn, { action: 'send', room: parseRoom(room)!, text, clientId: `k-${++n}` });
  return room;
}

const urlEvent = (method: string, token: string | undefined, body?: string): FunctionUrlEvent => ({
  requestContext: { http: { method, sourceIp: '198.51.100.20' } },
  queryStringParameters: token === undefined ? undefined : { token },
  ...(body === undefined ? {} : { body: Buffer.from(body).toString('base64'), isBase64Encoded: true }),
});

describe('notices on AWS', () => {
  let token: string;
  let bob: Awaited<ReturnType<typeof person>>;

  it('the sweep mails a due notice with SendRawEmail, the List-Unsubscribe headers arriving at SES', async () => {
    const alice = await person('alice');
    bob = await person('bob');
    const room = await dmFrom(alice, bob, 'hello from the lambda');
    const before = aws.fake.mail.length;
    await onSweep();
    const mailed = aws.fake.mail.slice(before);
    expect(mailed).toHaveLength(1);
    const mail = mailed[0]!;
    expect(mail).toMatchObject({ from: 'Wild Whispers <no-reply@chat.example.com>', to: [bob.email], subject: `@${alice.name} sent you a message on Wild Whispers` });
    expect(mail.headers!['list-unsubscribe']).toMatch(/^<https:\/\/abcdefghijklmnop\.lambda-url\.eu-west-1\.on\.aws\/\?token=\d+\.\d+\.[A-Za-z0-9_-]{43}>$/);
    expect(mail.headers!['list-unsubscribe-post']).toBe('List-Unsubscribe=One-Click');
    expect(mail.headers!['content-type']).toBe('text/plain; charset=utf-8');
    expect(mail.text).toContain(`https://chat.example.org/#room=${encodeURIComponent(room)}`);
    token = new URL(mail.headers!['list-unsubscribe']!.slice(1, -1)).searchParams.get('token')!;
    // a second run: nothing more
    await onSweep();
    expect(aws.fake.mail.length).toBe(before + 1);
  });

  it('the unsubscribe function: GET shows the button and changes nothing, POST One-Click turns notices off, a changed token is refused', async () => {
    const page = await onUnsubscribe(urlEvent('GET', token));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<button type="submit">Unsubscribe</button>');
    expect(await aws.deps.sql`select notify from users where id = ${bob.id}`).toEqual([{ notify: 'mentions' }]);
    const tampered = token.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    const refused = await onUnsubscribe(urlEvent('POST', tampered, 'List-Unsubscribe=One-Click'));
    expect(refused.statusCode).toBe(400);
    expect(await aws.deps.sql`select notify from users where id = ${bob.id}`).toEqual([{ notify: 'mentions' }]);
    const done = await onUnsubscribe(urlEvent('POST', token, 'List-Unsubscribe=One-Click'));
    expect(done.statusCode).toBe(200);
    expect(await aws.deps.sql`select notify from users where id = ${bob.id}`).toEqual([{ notify: 'off' }]);
  });

  it('the bounces function suppresses a permanently bouncing address from an SNS-delivered SES notification', async () => {
    const alice = await person('alice');
    const carol = await person('carol');
    const sesNotification = {
      notificationType: 'Bounce',
      bounce: {
        feedbackId: '01000190-aaaa-bbbb-cccc-000000000000-000000',
        bounceType: 'Permanent',
        bounceSubType: 'General',
        bouncedRecipients: [{ emailAddress: carol.email, action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
        timestamp: '2026-12-01T05:30:00.000Z',
        reportingMTA: 'dsn; a1-23.smtp-out.eu-west-1.amazonses.com',
      },
      mail: {
        timestamp: '2026-12-01T05:29:59.000Z',
        source: 'no-reply@chat.example.com',
        sourceArn: 'arn:aws:ses:eu-west-1:111111111111:identity/no-reply@chat.example.com',
        messageId: '01000190-1111-2222-3333-444444444444-000000',
        destination: [carol.email],
      },
    };
    const snsEvent = {
      Records: [
        {
          EventSource: 'aws:sns',
          EventVersion: '1.0',
          EventSubscriptionArn: 'arn:aws:sns:eu-west-1:111111111111:MailEvents:5b1f0000-0000-4000-8000-000000000000',
          Sns: {
            Type: 'Notification',
            MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
            TopicArn: 'arn:aws:sns:eu-west-1:111111111111:MailEvents',
            Subject: null,
            Message: JSON.stringify(sesNotification),
            Timestamp: '2026-12-01T05:30:01.000Z',
            SignatureVersion: '1',
            Signature: 'EXAMPLE',
            SigningCertUrl: 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem',
            UnsubscribeUrl: 'https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe',
            MessageAttributes: {},
          },
        },
        { Sns: { Message: 'not json', MessageId: 'x' } },
      ],
    };
    expect(await onBounces(snsEvent)).toEqual({ suppressed: 1 });
    expect(await aws.deps.sql`select reason from mail_suppressions where email_lower = ${carol.email}`).toEqual([{ reason: 'bounce' }]);
    const before = aws.fake.mail.length;
    await dmFrom(alice, carol, 'are you there?');
    await onSweep();
    expect(aws.fake.mail.slice(before).filter((m) => m.to.includes(carol.email))).toHaveLength(0);
  });
});
