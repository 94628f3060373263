import { createRequire } from 'node:module';

/** The kernel package version (reported to plugins as BrokerInfo.version). */
export const KERNEL_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
