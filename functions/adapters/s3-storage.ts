// Shared files on AWS: a private S3 bucket. Uploads are presigned POSTs whose
// policy pins the key, the exact size and the type; downloads presigned GETs that
// also fix the response's type and disposition. Every upload arrives tagged
// `state=pending`, which the bucket's lifecycle rule expires after a day; the
// send that attaches a file takes the tag off (keep). Signed with the function's
// own role, whose grants reach `files/*` only (infra/files.ts).
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectTaggingCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { HEAD_BYTES, contentDisposition } from '../core/files.js';
import type { DownloadHeaders, Storage, UploadTarget } from '../core/ports.js';

/** The tag an upload carries until a message holds it; the lifecycle rule matches it. */
export const PENDING_TAG = { key: 'state', value: 'pending' } as const;
const PENDING_TAGGING = `<Tagging><TagSet><Tag><Key>${PENDING_TAG.key}</Key><Value>${PENDING_TAG.value}</Value></Tag></TagSet></Tagging>`;

const secondsUntil = (at: Date) => Math.max(1, Math.floor((at.getTime() - Date.now()) / 1000));

export class S3Storage implements Storage {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async uploadTarget(key: string, size: number, contentType: string, expiresAt: Date): Promise<UploadTarget> {
    // Fields are conditions too: the key, the type and the tag cannot be changed.
    const { url, fields } = await createPresignedPost(this.client, {
      Bucket: this.bucket,
      Key: key,
      Conditions: [['content-length-range', size, size]],
      Fields: { 'Content-Type': contentType, tagging: PENDING_TAGGING },
      Expires: secondsUntil(expiresAt),
    });
    return { method: 'POST', url, fields };
  }

  async downloadUrl(key: string, headers: DownloadHeaders, expiresAt: Date): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentType: headers.contentType,
      ResponseContentDisposition: contentDisposition(headers.disposition, headers.filename),
      ResponseCacheControl: 'private, no-store',
    });
    return getSignedUrl(this.client, command, { expiresIn: secondsUntil(expiresAt) });
  }

  /** One ranged GET: the first bytes, and the whole size from Content-Range. */
  async stat(key: string): Promise<{ size: number; contentType?: string; head: Buffer } | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=0-${HEAD_BYTES - 1}` }));
      const head = Buffer.from((await out.Body?.transformToByteArray()) ?? []);
      const total = /\/(\d+)$/.exec(out.ContentRange ?? '')?.[1];
      return { size: total ? Number(total) : (out.ContentLength ?? head.length), contentType: out.ContentType, head };
    } catch (err) {
      if (err instanceof NoSuchKey || (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404)) return undefined;
      throw err;
    }
  }

  async keep(key: string): Promise<void> {
    await this.client.send(new PutObjectTaggingCommand({ Bucket: this.bucket, Key: key, Tagging: { TagSet: [] } }));
  }

  async remove(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const out = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      if (out.Errors?.length) throw new Error(`S3 kept ${out.Errors.length} of the files it was asked to delete (${out.Errors[0]?.Code})`);
    }
  }
}

export function createS3Storage(bucket: string, options: { region?: string; endpoint?: string }): S3Storage {
  // A stand-in endpoint (tests) takes the bucket in the path; AWS in the host name.
  const client = new S3Client({ region: options.region, ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}) });
  return new S3Storage(client, bucket);
}
