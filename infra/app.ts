// `npx cdk deploy`: the web client is built, then the stack is synthesized and
// checked against cdk-nag's AwsSolutions rules (a finding fails the synth).
// Settings come from context (infra/context.ts): -c senderEmail=you@example.com,
// or cdk.context.json.
import { App, Annotations, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackPropsFromContext } from './context.js';
import { ChatStack } from './stack.js';

const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === null || value === '' ? undefined : String(value);
};

if (context('skipWebBuild') !== 'true') {
  const { buildWeb } = await import('../web/build.js');
  await buildWeb({ quiet: true });
}

const stack = new ChatStack(app, context('stackName') ?? 'WildWhispers', stackPropsFromContext(app));
if (!context('senderEmail')) {
  Annotations.of(stack).addWarningV2('ww:senderEmail', 'No senderEmail in context: codes would be mailed from no-reply@example.com. Deploy with -c senderEmail=you@yourdomain.');
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
