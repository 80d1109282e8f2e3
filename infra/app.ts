// `npx cdk deploy`: the web client is built, then the stack is synthesized and
// checked against cdk-nag's AwsSolutions rules (a finding fails the synth).
// Settings come from context: -c senderEmail=you@example.com, or cdk.context.json.
import { App, Annotations, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ChatStack } from './stack.js';

const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === null || value === '' ? undefined : String(value);
};
const flag = (key: string, fallback: boolean): boolean => (context(key) === undefined ? fallback : context(key) === 'true');

if (context('skipWebBuild') !== 'true') {
  const { buildWeb } = await import('../web/build.js');
  await buildWeb({ quiet: true });
}

const natGateways = Number(context('natGateways') ?? 1);
if (![1, 2, 3].includes(natGateways)) throw new Error(`natGateways must be 1, 2 or 3, not "${context('natGateways')}"`);
const senderEmail = context('senderEmail');
const stack = new ChatStack(app, context('stackName') ?? 'WildWhispers', {
  description: 'Wild Whispers: real-time chat on API Gateway WebSockets, Lambda, RDS PostgreSQL',
  senderEmail: senderEmail ?? 'no-reply@example.com',
  senderName: context('senderName'),
  allowedOrigins: context('allowedOrigins')?.split(',').map((s) => s.trim()).filter(Boolean),
  inviteCode: context('inviteCode'),
  dbInstanceType: context('dbInstanceType'),
  dbMultiAz: flag('dbMultiAz', false),
  protectData: flag('protectData', true),
  natGateways,
  alarmEmail: context('alarmEmail'),
});
if (!senderEmail) {
  Annotations.of(stack).addWarningV2('ww:senderEmail', 'No senderEmail in context: codes would be mailed from no-reply@example.com. Deploy with -c senderEmail=you@yourdomain.');
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
