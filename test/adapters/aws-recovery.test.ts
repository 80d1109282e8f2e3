// Account recovery and email changes (E18) on the AWS hosting: the deployed
// handlers with createAwsDeps, every mail going through the real SES client to a
// local SES endpoint, frames posted through the management API.
import { describe, expect, it } from 'vitest';
import { handler as onAuth } from '../../functions/auth.js';
import { handler as onConnect } from '../../functions/connect.js';
import { handler as onDefault } from '../../functions/default.js';
import { useAwsHosting } from './aws-hosting.js';
import { wsEvent } from './events.js';

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a brand new passphrase';

const aws = useAwsHosting();

async function open(id: string): Promise<void> {
  aws.fake.open(id);
  expect(await onConnect(wsEvent('$connect', id))).toEqual({ statusCode: 200 });
}
const last = (id: string) => aws.fake.framesTo(id).at(-1) as Record<string, unknown>;
const mailTo = (address: string) => aws.fake.mail.filter((m) => m.to.includes(address));
const codeIn = (subject: string) => /\b(\d{6})\b/.exec(subject)![1];

describe('account recovery on AWS, mail through SES', () => {
  it('mails a reset code, resets the password with it, and ends the old sessions', async () => {
    const username = `rec${process.pid % 1000}`;
    const email = `${username}@example.com`;
    const laptop = `${username}-laptop=`;
    await open(laptop);
    await onAuth(wsEvent('auth', laptop, { action: 'auth', op: 'register', username, email, password: PASSWORD }));
    await onAuth(wsEvent('auth', laptop, { action: 'auth', op: 'verify', username, code: codeIn(mailTo(email).at(-1)!.subject) }));
    expect(last(laptop)).toMatchObject({ type: 'authed' });
    const oldToken = String(last(laptop).token);

    const phone = `${username}-phone=`;
    await open(phone);
    const before = mailTo(email).length;
    await onAuth(wsEvent('auth', phone, { action: 'auth', id: 'f', op: 'forgot', login: username }));
    expect(last(phone)).toMatchObject({ type: 'reset_sent', re: 'f' });
    const resetMail = mailTo(email).slice(before);
    expect(resetMail).toHaveLength(1);
    expect(resetMail[0]!.from).toContain('@');
    const code = codeIn(resetMail[0]!.subject);
    expect(resetMail[0]!.text).toContain(code);

    await onAuth(wsEvent('auth', phone, { action: 'auth', id: 'r', op: 'reset', login: username, code, password: NEW_PASSWORD }));
    expect(last(phone)).toMatchObject({ type: 'password_reset', re: 'r' });
    // every other session ends: the laptop's socket is closed, its token refused
    expect(aws.fake.deleted).toContain(laptop);
    const again = `${username}-again=`;
    await open(again);
    await onAuth(wsEvent('auth', again, { action: 'auth', id: 'o', op: 'resume', token: oldToken }));
    expect(last(again)).toMatchObject({ type: 'error', re: 'o', code: 'unauthorized' });
    await onAuth(wsEvent('auth', again, { action: 'auth', id: 'n', op: 'login', username, password: NEW_PASSWORD }));
    expect(last(again)).toMatchObject({ type: 'authed', re: 'n' });
  });

  it('confirms a new address with a code mailed to it, and tells the old one', async () => {
    const username = `mov${process.pid % 1000}`;
    const email = `${username}@example.com`;
    const moved = `${username}@new.example`;
    const id = `${username}-c=`;
    await open(id);
    await onAuth(wsEvent('auth', id, { action: 'auth', op: 'register', username, email, password: PASSWORD }));
    await onAuth(wsEvent('auth', id, { action: 'auth', op: 'verify', username, code: codeIn(mailTo(email).at(-1)!.subject) }));

    await onDefault(wsEvent('change_email', id, { action: 'change_email', id: 'ce', password: PASSWORD, email: moved }));
    expect(last(id)).toMatchObject({ type: 'email_code_sent', re: 'ce' });
    expect(mailTo(moved)).toHaveLength(1);
    const before = mailTo(email).length;
    await onDefault(wsEvent('confirm_email', id, { action: 'confirm_email', id: 'cc', code: codeIn(mailTo(moved)[0]!.subject) }));
    expect(last(id)).toMatchObject({ type: 'email_changed', re: 'cc', email: moved });
    const notice = mailTo(email).slice(before);
    expect(notice).toHaveLength(1);
    expect(notice[0]!.text).toContain(username);
  });
});
