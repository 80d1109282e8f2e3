// Shared files (E17): a private, encrypted bucket that only presigned URLs reach.
// Browsers POST uploads to it from the site's origin (the only CORS rule) and
// read downloads by presigned GET (an <img> or a link, which need no CORS). An
// upload not attached to a message within a day still carries its `pending`
// tag, and the lifecycle rule deletes it. Functions get exactly the actions they
// use, on `files/*` only.
import { Aws, Duration, Fn, RemovalPolicy } from 'aws-cdk-lib';
import { Effect, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, HttpMethods, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { PENDING_TAG } from '../functions/adapters/s3-storage.js';

export const FILES_PREFIX = 'files/';

export interface FilesBucketProps {
  /** the web client's origin (https://….cloudfront.net), the only one that may POST */
  webOrigin: string;
  /** keep the files when the stack goes (the default for data) */
  protect: boolean;
}

/**
 * The bucket's name, made of the stack's name, account and region only: the
 * site's CSP needs its address and the bucket's CORS the site's, and a name
 * known up front breaks that circle.
 */
export function filesBucketName(stackName: string): string {
  return Fn.join('-', [stackName.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 24), 'files', Aws.ACCOUNT_ID, Aws.REGION]);
}

/** https://{bucket}.s3.{region}.amazonaws.com: where presigned URLs point. */
export function filesBucketOrigin(stackName: string): string {
  return Fn.join('', ['https://', filesBucketName(stackName), '.s3.', Aws.REGION, '.', Aws.URL_SUFFIX]);
}

export class FilesBucket extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: FilesBucketProps & { bucketName: string }) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      cors: [{ allowedOrigins: [props.webOrigin], allowedMethods: [HttpMethods.POST], maxAge: 3600 }],
      lifecycleRules: [
        {
          id: 'unattached-uploads',
          prefix: FILES_PREFIX,
          tagFilters: { [PENDING_TAG.key]: PENDING_TAG.value },
          expiration: Duration.days(1),
        },
        { id: 'unfinished-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: props.protect ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoDeleteObjects: !props.protect,
    });
  }

  /** `actions` on `files/*`, nothing else. */
  grant(grantee: IGrantable, actions: string[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions, resources: [this.bucket.arnForObjects(`${FILES_PREFIX}*`)] }),
    );
  }
}
