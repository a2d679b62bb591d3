// nfyio-gateway from the AWS SDK for JavaScript v3.
//
//   npm install            # in this folder
//   export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...   # an nfyio access key pair
//   node quickstart.mjs    # against `make run` (S3 endpoint http://localhost:7007)
//
// AWS_ENDPOINT_URL points it elsewhere. For an HTTPS gateway with a private CA, run with
// NODE_EXTRA_CA_CERTS=/path/to/ca.pem.
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

const endpoint = process.env.AWS_ENDPOINT_URL ?? 'http://localhost:7007';
const bucket = process.env.NFYIO_BUCKET ?? `js-quickstart-${Date.now()}`;

if (!process.env.AWS_ACCESS_KEY_ID || !process.env.AWS_SECRET_ACCESS_KEY) {
  console.error('Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to an nfyio access key pair.');
  process.exit(2);
}

// The NFYio client configuration: path-style addressing against the gateway's endpoint.
const s3 = new S3Client({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
  },
});

await s3.send(new CreateBucketCommand({ Bucket: bucket }));
console.log(`created bucket ${bucket}`);

const { Buckets = [] } = await s3.send(new ListBucketsCommand({}));
console.log(`buckets: ${Buckets.map((b) => b.Name).join(', ')}`);

await s3.send(
  new PutObjectCommand({
    Bucket: bucket,
    Key: 'hello.txt',
    Body: 'Hello, nfyio!\n',
    ContentType: 'text/plain',
  }),
);
const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' }));
const text = await object.Body.transformToString();
console.log(`got hello.txt: ${JSON.stringify(text)}`);

// Large bodies: lib-storage splits them into a multipart upload (parts >= 5 MiB).
const large = Buffer.alloc(12 * 1024 * 1024, 'n');
const uploaded = await new Upload({
  client: s3,
  params: { Bucket: bucket, Key: 'large.bin', Body: large },
  partSize: 5 * 1024 * 1024,
  queueSize: 2,
}).done();
console.log(`multipart upload done, ETag ${uploaded.ETag}`);

const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
for (const item of Contents) console.log(`  ${item.Key}  ${item.Size} bytes`);

// A presigned URL lets anyone holding it GET the object for 5 minutes, no credentials needed.
const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' }), {
  expiresIn: 300,
});
const response = await fetch(url);
const fetched = await response.text();
if (response.status !== 200 || fetched !== text) {
  throw new Error(`presigned GET failed: ${response.status} ${fetched}`);
}
console.log('presigned GET ok');

for (const item of Contents) {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: item.Key }));
}
await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
console.log(`cleaned up ${bucket}`);
