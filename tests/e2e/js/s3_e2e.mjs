// End-to-end run of the AWS SDK for JavaScript v3 against nfyio-gateway.
//
// The client is configured exactly as the NFYio seed documents it. Input comes from the
// environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, E2E_BUCKET);
// the result is one JSON document on stdout for the Python test to assert on.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

const MiB = 1024 * 1024;
const endpoint = process.env.AWS_ENDPOINT_URL ?? 'http://localhost:7007';
const bucket = process.env.E2E_BUCKET ?? `js-e2e-${Date.now()}`;
const sha256 = (data) => createHash('sha256').update(data).digest('hex');

const s3 = new S3Client({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
  },
});

// Record how each request really went on the wire (after checksums and signing), so the
// test can tell the aws-chunked/trailer upload path from the checksum-header one.
const wire = [];
const WIRE_HEADERS = [
  'x-amz-content-sha256',
  'content-encoding',
  'transfer-encoding',
  'content-length',
  'x-amz-decoded-content-length',
  'x-amz-trailer',
  'x-amz-sdk-checksum-algorithm',
  'x-amz-checksum-crc32',
];
s3.middlewareStack.add(
  (next, context) => async (args) => {
    const headers = {};
    for (const [name, value] of Object.entries(args.request?.headers ?? {})) {
      if (WIRE_HEADERS.includes(name.toLowerCase())) headers[name.toLowerCase()] = value;
    }
    wire.push({ command: context.commandName, method: args.request?.method, headers });
    return next(args);
  },
  { step: 'deserialize', name: 'nfyioWireRecorder' },
);

const result = { endpoint, bucket };

async function main() {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));

  const buckets = await s3.send(new ListBucketsCommand({}));
  result.listBuckets = (buckets.Buckets ?? []).map((b) => b.Name);
  result.owner = buckets.Owner?.ID ?? null;

  // PutObject / GetObject with a string body, a unicode key with spaces.
  const textKey = 'docs/hello wörld ✓.txt';
  const text = 'Hello from the JavaScript SDK v3 ✓\n';
  const put = await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: textKey,
      Body: text,
      ContentType: 'text/plain; charset=utf-8',
      Metadata: { origin: 'js-sdk' },
    }),
  );
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: textKey }));
  result.text = {
    putETag: put.ETag,
    getETag: got.ETag,
    body: await got.Body.transformToString(),
    expected: text,
    contentType: got.ContentType,
    metadata: got.Metadata,
  };

  // PutObject with a streamed body of known length (the SDK cannot buffer it).
  const streamed = randomBytes(256 * 1024 + 7);
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'bin/streamed.bin',
      Body: Readable.from([streamed.subarray(0, 100000), streamed.subarray(100000)]),
      ContentLength: streamed.length,
    }),
  );
  const gotStreamed = await s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: 'bin/streamed.bin' }),
  );
  result.streamed = {
    size: streamed.length,
    sha256: sha256(streamed),
    gotSha256: sha256(Buffer.from(await gotStreamed.Body.transformToByteArray())),
  };

  // Ranged GET.
  const ranged = await s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: 'bin/streamed.bin', Range: 'bytes=10-19' }),
  );
  result.ranged = {
    contentRange: ranged.ContentRange,
    status: ranged.$metadata.httpStatusCode,
    matches: Buffer.from(await ranged.Body.transformToByteArray()).equals(
      streamed.subarray(10, 20),
    ),
  };

  // Multipart through lib-storage: 12 MiB from a stream, 5 MiB parts -> 3 parts.
  const big = randomBytes(12 * MiB);
  const upload = new Upload({
    client: s3,
    params: {
      Bucket: bucket,
      Key: 'big/twelve.bin',
      Body: Readable.from(
        (function* chunks() {
          for (let i = 0; i < big.length; i += MiB) yield big.subarray(i, i + MiB);
        })(),
      ),
      ContentType: 'application/octet-stream',
    },
    partSize: 5 * MiB,
    queueSize: 2,
  });
  const parts = [];
  upload.on('httpUploadProgress', (p) => parts.push(p.part));
  const uploaded = await upload.done();
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big/twelve.bin' }));
  const gotBig = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'big/twelve.bin' }));
  result.multipart = {
    uploadETag: uploaded.ETag,
    headETag: head.ETag,
    headSize: head.ContentLength,
    size: big.length,
    sha256: sha256(big),
    gotSha256: sha256(Buffer.from(await gotBig.Body.transformToByteArray())),
    parts: [...new Set(parts.filter((p) => p !== undefined))].sort(),
  };

  // ListObjectsV2, flat and with a delimiter.
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  const grouped = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/' }));
  result.list = {
    keys: (listed.Contents ?? []).map((o) => o.Key),
    sizes: Object.fromEntries((listed.Contents ?? []).map((o) => [o.Key, o.Size])),
    keyCount: listed.KeyCount,
    prefixes: (grouped.CommonPrefixes ?? []).map((p) => p.Prefix),
  };

  // Presigned GET and PUT, used with node's fetch.
  const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: textKey }), {
    expiresIn: 300,
  });
  const fetched = await fetch(getUrl);
  result.presignedGet = {
    url: getUrl,
    status: fetched.status,
    body: await fetched.text(),
  };
  const putUrl = await getSignedUrl(
    s3,
    new PutObjectCommand({ Bucket: bucket, Key: 'presigned/upload.txt' }),
    { expiresIn: 300 },
  );
  const putResponse = await fetch(putUrl, { method: 'PUT', body: 'uploaded by URL' });
  const afterPut = await s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: 'presigned/upload.txt' }),
  );
  result.presignedPut = {
    status: putResponse.status,
    body: await afterPut.Body.transformToString(),
  };
  // getSignedUrl hoists x-amz-meta-* into the query: the URL alone carries the metadata.
  const metaUrl = await getSignedUrl(
    s3,
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'presigned/with-meta.txt',
      Metadata: { origin: 'presigned-url', owner: 'browser' },
    }),
    { expiresIn: 300 },
  );
  const metaPut = await fetch(metaUrl, { method: 'PUT', body: 'metadata in the URL' });
  const metaHead = await s3.send(
    new HeadObjectCommand({ Bucket: bucket, Key: 'presigned/with-meta.txt' }),
  );
  result.presignedMetadata = {
    hoisted: new URL(metaUrl).searchParams.get('x-amz-meta-origin'),
    status: metaPut.status,
    metadata: metaHead.Metadata,
  };
  // ... and x-amz-acl too: the object is public though the PUT carried no ACL header.
  const aclUrl = await getSignedUrl(
    s3,
    new PutObjectCommand({ Bucket: bucket, Key: 'presigned/public.txt', ACL: 'public-read' }),
    { expiresIn: 300 },
  );
  const aclPut = await fetch(aclUrl, { method: 'PUT', body: 'public by URL' });
  const anonymous = await fetch(`${endpoint}/${bucket}/presigned/public.txt`);
  result.presignedAcl = {
    hoisted: new URL(aclUrl).searchParams.get('x-amz-acl'),
    status: aclPut.status,
    anonymousStatus: anonymous.status,
    anonymousBody: await anonymous.text(),
  };
  const wrongMethod = await fetch(getUrl, { method: 'PUT', body: 'nope' });
  result.presignedWrongMethod = { status: wrongMethod.status, body: await wrongMethod.text() };

  // Errors arrive as S3 XML the SDK can parse into named exceptions.
  try {
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'does/not/exist' }));
    result.noSuchKey = { name: null };
  } catch (error) {
    result.noSuchKey = { name: error.name, status: error.$metadata?.httpStatusCode };
  }

  // Clean up.
  const presignedKeys = ['presigned/upload.txt', 'presigned/with-meta.txt', 'presigned/public.txt'];
  for (const key of [...result.list.keys, ...presignedKeys]) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  const after = await s3.send(new ListBucketsCommand({}));
  result.bucketGone = !(after.Buckets ?? []).some((b) => b.Name === bucket);
  result.wire = wire;
}

try {
  await main();
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  result.error = {
    name: error?.name,
    message: error?.message,
    status: error?.$metadata?.httpStatusCode,
    stack: error?.stack,
  };
  result.wire = wire;
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = 1;
}
