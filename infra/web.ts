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
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
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

const PLACEHOLDER = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Wild Whispers</title>
<p>The web client was not built when this stack was synthesized. Run <code>npm run build</code>, then deploy again.</p></html>`;

export class WebSite extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  readonly headers: ResponseHeadersPolicy;
  readonly deployment: BucketDeployment;
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

    this.headers = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Wild Whispers: CSP, HSTS, nosniff, no framing',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: contentSecurityPolicy(props.webSocketOrigin, props.filesOrigin), override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [{ header: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=()', override: true }],
      },
    });

    this.distribution = new Distribution(this, 'Cdn', {
      comment: 'Wild Whispers web client',
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.headers,
        compress: true,
      },
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
    });
  }
}
