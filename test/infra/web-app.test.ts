// The installable app on AWS (infra/web.ts, infra/csp.ts): the CSP lets the
// page load its manifest and register its service worker from the site only;
// /sw.js and the manifest are never cached at the edge and carry
// Cache-Control: no-cache (a deploy's new worker is found at the next visit);
// the manifest is uploaded with its own content type.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../infra/csp.js';
import { WebSite } from '../../infra/web.js';

/** CloudFront's managed CachingDisabled policy. */
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';

let dist: string;
let template: Template;

beforeAll(async () => {
  dist = await mkdtemp(join(tmpdir(), 'ww-dist-'));
  await writeFile(join(dist, 'index.html'), '<!doctype html><title>t</title>');
  await writeFile(join(dist, 'manifest.webmanifest'), '{"name":"t"}');
  await writeFile(join(dist, 'sw.js'), '');
  const stack = new Stack(new App(), 'Web');
  new WebSite(stack, 'Site', {
    distDir: dist,
    webSocketUrl: 'wss://api.example.org/prod',
    webSocketOrigin: 'wss://api.example.org',
    filesOrigin: 'https://files.example.org',
  });
  template = Template.fromStack(stack);
});

afterAll(async () => {
  await rm(dist, { recursive: true, force: true });
});

describe('the installable web app on AWS', () => {
  it('allows the manifest and the service worker from the site itself, nothing else', () => {
    const directives = Object.fromEntries(
      contentSecurityPolicy('wss://api.example.org', 'https://files.example.org')
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([k, ...v]) => [k, v]),
    );
    expect(directives['manifest-src']).toEqual(["'self'"]);
    expect(directives['worker-src']).toEqual(["'self'"]);
  });

  it('never caches /sw.js or the manifest at the edge, and tells browsers no-cache', () => {
    const [distribution] = Object.values(template.findResources('AWS::CloudFront::Distribution'));
    const behaviors = distribution!.Properties.DistributionConfig.CacheBehaviors as { PathPattern: string; CachePolicyId: string; ResponseHeadersPolicyId: { Ref: string } }[];
    expect(behaviors.map((b) => b.PathPattern).sort()).toEqual(['/manifest.webmanifest', '/sw.js']);
    const policies = template.findResources('AWS::CloudFront::ResponseHeadersPolicy');
    for (const b of behaviors) {
      expect(b.CachePolicyId).toBe(CACHING_DISABLED);
      const config = policies[b.ResponseHeadersPolicyId.Ref]!.Properties.ResponseHeadersPolicyConfig;
      expect(config.CustomHeadersConfig.Items).toContainEqual({ Header: 'Cache-Control', Value: 'no-cache', Override: true });
      // the same security headers as every other file
      expect(config.SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy).toContain("worker-src 'self'");
      expect(config.SecurityHeadersConfig.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    }
  });

  it('uploads the manifest as application/manifest+json, apart from the rest of the site', () => {
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      Exclude: ['*'],
      Include: ['manifest.webmanifest'],
      Prune: false,
      SystemMetadata: Match.objectLike({ 'content-type': 'application/manifest+json', 'cache-control': 'no-cache' }),
    });
    template.hasResourceProperties('Custom::CDKBucketDeployment', { Exclude: ['manifest.webmanifest'], DistributionPaths: ['/*'] });
  });
});
