// JS SDK v3 workflows beside s3_e2e.mjs, with the client's defaults: ListObjectVersions
// paged by hand (the SDK has no paginator for it), DeleteObjects of versions, a
// lib-storage Upload of a stream shorter than one part, a FULL_OBJECT CRC64NVME multipart
// upload read back with checksum validation, presigned PUT and GET of a key that needs
// encoding. Input: AWS_ENDPOINT_URL, E2E_BUCKET; output: one JSON document on stdout.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

const MiB = 1024 * 1024;
const bucket = process.env.E2E_BUCKET;
const s3 = new S3Client({ endpoint: process.env.AWS_ENDPOINT_URL, forcePathStyle: true });
const result = { bucket };

async function listVersions() {
  const pages = [];
  let KeyMarker;
  let VersionIdMarker;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 2, KeyMarker, VersionIdMarker }),
    );
    pages.push({
      versions: (page.Versions ?? []).map((v) => [v.Key, v.VersionId, v.IsLatest]),
      markers: (page.DeleteMarkers ?? []).map((m) => [m.Key, m.VersionId, m.IsLatest]),
    });
    if (!page.IsTruncated) return pages;
    KeyMarker = page.NextKeyMarker;
    VersionIdMarker = page.NextVersionIdMarker;
  }
}

async function main() {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutBucketVersioningCommand({
      Bucket: bucket,
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
  const written = [];
  for (const key of ['a', 'b b', 'c+\u00fc']) {
    for (let i = 0; i < 3; i += 1) {
      const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${i}` }));
      written.push([key, put.VersionId]);
    }
  }
  const marker = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'a' }));
  result.written = written;
  result.marker = marker.VersionId;
  result.pages = await listVersions();

  // DeleteObjects of every version and the marker (the SDK adds its checksum header)
  const everything = [...written.map(([Key, VersionId]) => ({ Key, VersionId }))];
  everything.push({ Key: 'a', VersionId: marker.VersionId });
  const deleted = await s3.send(
    new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: everything } }),
  );
  result.deleted = (deleted.Deleted ?? []).length;
  result.deleteErrors = deleted.Errors ?? [];
  result.pagesAfter = await listVersions();

  // lib-storage with a stream shorter than one part: a single PutObject
  const small = randomBytes(1000);
  await new Upload({
    client: s3,
    params: { Bucket: bucket, Key: 'small-stream', Body: Readable.from([small]) },
  }).done();
  const gotSmall = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'small-stream' }));
  result.smallStream = Buffer.from(await gotSmall.Body.transformToByteArray()).equals(small);

  // FULL_OBJECT CRC64NVME multipart, read back with validation (the SDK checks the value)
  const key = 'full-object';
  const created = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      ChecksumAlgorithm: 'CRC64NVME',
      ChecksumType: 'FULL_OBJECT',
    }),
  );
  const bodies = [randomBytes(5 * MiB), randomBytes(100)];
  const parts = [];
  for (const [index, body] of bodies.entries()) {
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: created.UploadId,
        PartNumber: index + 1,
        Body: body,
        ChecksumAlgorithm: 'CRC64NVME',
      }),
    );
    parts.push({
      PartNumber: index + 1,
      ETag: part.ETag,
      ChecksumCRC64NVME: part.ChecksumCRC64NVME,
    });
  }
  const done = await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId: created.UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
  const got = await s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }),
  );
  result.fullObject = {
    completed: [done.ChecksumCRC64NVME, done.ChecksumType],
    got: [got.ChecksumCRC64NVME, got.ChecksumType],
    same: Buffer.from(await got.Body.transformToByteArray()).equals(Buffer.concat(bodies)),
  };

  // presigned PUT and GET of a key with a space, a plus, a percent and non-ASCII
  const odd = 'p/\u00fc +%.txt';
  const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: bucket, Key: odd }), {
    expiresIn: 60,
  });
  const put = await fetch(putUrl, { method: 'PUT', body: 'by URL' });
  const getUrl = await getSignedUrl(
    s3,
    new GetObjectCommand({
      Bucket: bucket,
      Key: odd,
      ResponseContentDisposition: 'attachment; filename="a b.txt"',
    }),
    { expiresIn: 60 },
  );
  const fetched = await fetch(getUrl);
  result.presigned = {
    put: put.status,
    get: fetched.status,
    disposition: fetched.headers.get('content-disposition'),
    body: await fetched.text(),
  };
}

try {
  await main();
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  result.error = { name: error?.name, message: error?.message, stack: error?.stack };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = 1;
}
