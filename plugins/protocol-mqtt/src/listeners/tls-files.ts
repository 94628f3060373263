import { readFileSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import { PluginStartError } from '@robustmq/sdk';

/** TLS file options as in the plugin schema. */
export interface TlsFiles {
  cert?: string;
  key?: string;
  ca?: string;
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

/** Reads certificate, key and CA files, refusing to start with a fix when one is missing. */
export function loadTlsFiles(
  files: TlsFiles,
  field: string,
): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
  if (!files.cert)
    throw new PluginStartError(`${field}.cert`, 'TLS is enabled but no certificate is set', `set ${field}.cert to a PEM file`);
  if (!files.key)
    throw new PluginStartError(`${field}.key`, 'TLS is enabled but no private key is set', `set ${field}.key to a PEM file`);
  const read = (path: string, name: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new PluginStartError(
        `${field}.${name}`,
        `cannot read ${path}: ${(err as Error).message}`,
        `point ${field}.${name} at a readable PEM file`,
      );
    }
  };
  const out: SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } = {
    cert: read(files.cert, 'cert'),
    key: read(files.key, 'key'),
    requestCert: files.requestCert,
    rejectUnauthorized: files.requestCert ? files.rejectUnauthorized : false,
  };
  if (files.ca) out.ca = read(files.ca, 'ca');
  return out;
}
