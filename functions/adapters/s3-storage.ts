// Shared files on AWS: a private S3 bucket. Uploads are presigned POSTs whose
// policy pins the key, the exact size and the type; downloads presigned GETs that
// also fix the response's type and disposition. Signed with the function's own
// role, whose grants reach `files/*` only (infra/files.ts).
//
// A POST policy can be used again until it expires, so a grant never writes
// where a message's bytes live: `files/<id>` is uploaded to
// `files/uploads/<id>`, tagged `state=pending` (the bucket's lifecycle rule
// expires it after a day). The send that attaches it copies it, untagged, to
// `files/<id>` (seal), deletes the upload, and checks the copy: what was
// checked is what is served, whatever the grant uploads later.
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  NoSuchKey,
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

/** Where the grant for `files/<name>` uploads: never where the sealed bytes are. */
export const uploadKey = (key: string) => key.replace(/^files\//, 'files/uploads/');

const notFound = (err: unknown) => err instanceof NoSuchKey || (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404);

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
      Key: uploadKey(key),
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

  async seal(key: string): Promise<boolean> {
    const from = uploadKey(key);
    try {
      // REPLACE with no tags: the copy is not `pending`, so the lifecycle rule spares it.
      await this.client.send(
        new CopyObjectCommand({ Bucket: this.bucket, Key: key, CopySource: `${this.bucket}/${from}`, MetadataDirective: 'COPY', TaggingDirective: 'REPLACE' }),
      );
    } catch (err) {
      // No upload: none yet, or sealed by an earlier try that died before the row said so.
      if (notFound(err)) return (await this.stat(key)) !== undefined;
      throw err;
    }
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: from }));
    return true;
  }

  /** One ranged GET: the first bytes, and the whole size from Content-Range. */
  async stat(key: string): Promise<{ size: number; contentType?: string; head: Buffer } | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=0-${HEAD_BYTES - 1}` }));
      const head = Buffer.from((await out.Body?.transformToByteArray()) ?? []);
      const total = /\/(\d+)$/.exec(out.ContentRange ?? '')?.[1];
      return { size: total ? Number(total) : (out.ContentLength ?? head.length), contentType: out.ContentType, head };
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }

  /** The sealed bytes and whatever the grant uploaded, sealed or not. */
  async remove(keys: readonly string[]): Promise<void> {
    const all = keys.flatMap((key) => [key, uploadKey(key)]);
    for (let i = 0; i < all.length; i += 1000) {
      const batch = all.slice(i, i + 1000);
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
