// The web client: a private S3 bucket read by CloudFront through origin access
// control, strict security headers on every response, and config.json beside the
// site telling the client where its WebSocket is.
import { existsSync } from 'node:fs';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { contentSecurityPolicy } from './csp.js';

export interface WebSiteProps {
  /** the built client (web/dist); without it a page saying how to build one */
  distDir: string;
  /** wss://{api}.execute-api.{region}.amazonaws.com/{stage} */
  webSocketUrl: string;
  /** wss://{api}.execute-api.{region}.amazonaws.com, for connect-src */
  webSocketOrigin: string;
  /** https://{bucket}.s3.{region}.amazonaws.com, for img-src and connect-src */
  filesOrigin: string;
}

const MANIFEST = 'manifest.webmanifest';

const PLACEHOLDER = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Wild Whispers</title>
<p>The web client was not built when this stack was synthesized. Run <code>npm run build</code>, then deploy again.</p></html>`;

export class WebSite extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  readonly headers: ResponseHeadersPolicy;
  /** the same headers plus Cache-Control: no-cache, for the files whose names stay */
  readonly freshHeaders: ResponseHeadersPolicy;
  readonly deployment: BucketDeployment;
  /** the web app manifest, with its own content type (only when the client was built) */
  readonly manifestDeployment?: BucketDeployment;
  /** https://{id}.cloudfront.net */
  readonly url: string;

  constructor(scope: Construct, id: string, props: WebSiteProps) {
    super(scope, id);

    this.bucket = new Bucket(this, 'Files', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // The site is rebuilt from the repository on every deploy; nothing to keep.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });

    const securityHeadersBehavior = {
      contentSecurityPolicy: { contentSecurityPolicy: contentSecurityPolicy(props.webSocketOrigin, props.filesOrigin), override: true },
      strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
      contentTypeOptions: { override: true },
      frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
      referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
    };
    const permissions = { header: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=()', override: true };
    this.headers = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Wild Whispers: CSP, HSTS, nosniff, no framing',
      securityHeadersBehavior,
      customHeadersBehavior: { customHeaders: [permissions] },
    });

    // The service worker and the manifest keep their names from one deploy to the
    // next: never cached at the edge or in the browser, so a deploy's new shell
    // is found at the next visit (the worker then replaces the old one).
    this.freshHeaders = new ResponseHeadersPolicy(this, 'FreshHeaders', {
      comment: 'Wild Whispers: security headers, and no caching (sw.js, manifest)',
      securityHeadersBehavior,
      customHeadersBehavior: {
        customHeaders: [permissions, { header: 'Cache-Control', value: 'no-cache', override: true }],
      },
    });
    const origin = S3BucketOrigin.withOriginAccessControl(this.bucket);
    const fresh = {
      origin,
      viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
      cachePolicy: CachePolicy.CACHING_DISABLED,
      responseHeadersPolicy: this.freshHeaders,
      compress: true,
    };

    this.distribution = new Distribution(this, 'Cdn', {
      comment: 'Wild Whispers web client',
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin,
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.headers,
        compress: true,
      },
      additionalBehaviors: { '/sw.js': fresh, [`/${MANIFEST}`]: fresh },
    });
    this.url = `https://${this.distribution.distributionDomainName}`;

    const built = existsSync(`${props.distDir}/index.html`);
    this.deployment = new BucketDeployment(this, 'Deploy', {
      sources: [
        built ? Source.asset(props.distDir) : Source.data('index.html', PLACEHOLDER),
        Source.jsonData('config.json', { websocketUrl: props.webSocketUrl }),
      ],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      memoryLimit: 256,
      // deployed below with its content type (S3 would guess none for .webmanifest)
      exclude: [MANIFEST],
    });
    if (built) {
      this.manifestDeployment = new BucketDeployment(this, 'DeployManifest', {
        sources: [Source.asset(props.distDir)],
        destinationBucket: this.bucket,
        exclude: ['*'],
        include: [MANIFEST],
        prune: false,
        contentType: 'application/manifest+json',
        cacheControl: [CacheControl.noCache()],
        memoryLimit: 256,
      });
    }
  }
}
