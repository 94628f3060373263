/** Opens S3 storages against the test server, each on its own prefix. */
// The SDK warns that releases after January 2027 need Node 22; the pinned version supports 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
import { randomBytes } from 'node:crypto';
import type { Logger } from '@robustmq/sdk';
import pino from 'pino';
import { type S3StorageInput, S3Storage } from '../../src/index.js';
import { S3RVER_CREDENTIALS, type S3TestServer } from './s3-server.js';

export const BUCKET = 'robustmq-test';

export const silentLogger: Logger = pino({ level: process.env.S3_TEST_LOG ?? 'silent' }) as unknown as Logger;

/** Options for a store on `server` with short intervals (the CI machine is small). */
export function testOptions(server: S3TestServer, extra: Partial<S3StorageInput> = {}): S3StorageInput {
  return {
    endpoint: server.endpoint,
    bucket: BUCKET,
    prefix: `t-${randomBytes(4).toString('hex')}`,
    credentials: { ...S3RVER_CREDENTIALS },
    forcePathStyle: true,
    createBucket: true,
    flushIntervalMs: 5,
    maintenanceIntervalMs: 60_000,
    retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
    ...extra,
  };
}

export function openStorage(options: S3StorageInput): Promise<S3Storage> {
  return S3Storage.open(options, { logger: silentLogger });
}
