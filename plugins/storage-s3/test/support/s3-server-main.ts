/**
 * Child-process entry of the test S3 server: s3rver + the conditional-write front.
 * Usage: node --openssl-legacy-provider --import tsx s3-server-main.ts <directory> [port]
 * (s3rver's ListObjectsV2 continuation tokens use DES, which OpenSSL 3 only has in the legacy provider.)
 * Prints `{"port":N}` once listening.
 */
import { removeIncompleteObjects } from './repair.js';
import { startS3Front } from './s3-front.js';

const [directory, port] = process.argv.slice(2);
// A restart after a kill: PUTs cut short must leave nothing behind, as on S3.
await removeIncompleteObjects(directory);
const front = await startS3Front({ directory, port: port ? Number(port) : 0 });
process.stdout.write(`${JSON.stringify({ port: front.port })}\n`);
// Die with the parent: the test process holds our stdin open.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => {
  void front.close().then(() => process.exit(0));
});
