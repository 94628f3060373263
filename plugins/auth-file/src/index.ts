import { resolve } from 'node:path';
import {
  type AuthenticateRequest,
  type AuthenticateResult,
  type AuthorizeRequest,
  type AuthorizeResult,
  definePlugin,
  PluginStartError,
  type Unregister,
} from '@robustmq/sdk';
import { checkAcl } from './acl.js';
import { AuthFileError } from './file-error.js';
import { type AuthData, loadAuthFiles } from './load-files.js';
import { authFileOptions } from './options.js';
import { hashPassword, parseScryptHash, verifyPassword } from './password-hash.js';
import { SCRAM_MECHANISMS, type ScramMechanism } from './scram-credential.js';
import { ScramServer } from './scram-server.js';
import { watchFiles } from './watch-files.js';

export { checkAcl } from './acl.js';
export { parseAclFile } from './acl-file.js';
export { AuthFileError } from './file-error.js';
export { authFileOptions } from './options.js';
export { parsePasswordFile } from './password-file.js';
export { hashPassword, verifyPassword } from './password-hash.js';
export {
  deriveScramCredential,
  formatScramCredential,
  parseScramCredential,
  type ScramCredential,
  type ScramMechanism,
} from './scram-credential.js';
export { ScramServer, type ScramServerOptions } from './scram-server.js';

/**
 * Username/password (scrypt) and SCRAM-SHA-256/512 authentication from a password file, and topic ACLs with `%u`/`%c`
 * substitution, plugged into the kernel's `authenticate` and `authorize` hooks.
 */
export default definePlugin({
  name: 'auth-file',
  kind: 'auth',
  version: '0.1.0',
  kernelApi: '^1',
  envPrefix: 'AUTH',
  configSchema: authFileOptions,
  async setup(ctx) {
    const { options, logger } = ctx;
    const fieldOf = (file: string) =>
      options.passwordFile && resolve(options.passwordFile) === file ? 'passwordFile' : 'aclFile';

    let data: AuthData;
    try {
      data = await loadAuthFiles(options);
    } catch (err) {
      if (err instanceof AuthFileError) {
        throw new PluginStartError(
          fieldOf(err.file),
          err.message,
          `correct the file (see plugins/auth-file/README.md) or the path`,
        );
      }
      throw err;
    }
    if (!options.passwordFile && !options.allowAnonymous) {
      logger.warn('auth-file: no passwordFile and allowAnonymous is false: every client will be refused');
    }
    // Unknown users are checked against this hash too, so a wrong name costs as long as a wrong password.
    const decoy = parseScryptHash(await hashPassword(Math.random().toString(36)));

    // SCRAM credentials are looked up in the current file contents, so a reload applies to new exchanges.
    const scram = new ScramServer({ lookup: (user, mechanism) => data.users?.get(user)?.scram[mechanism] });

    const authenticate = async (req: AuthenticateRequest): Promise<AuthenticateResult> => {
      if (req.method !== undefined && (SCRAM_MECHANISMS as string[]).includes(req.method)) {
        const result = scram.step({
          mechanism: req.method as ScramMechanism,
          connection: `${req.protocol}|${req.remoteAddress ?? ''}|${req.clientId}`,
          data: req.data ?? Buffer.alloc(0),
        });
        if (result?.outcome === 'deny') {
          logger.info(
            { clientId: req.clientId, protocol: req.protocol, method: req.method, reason: result.reason },
            'auth-file: SCRAM refused',
          );
        }
        return result;
      }
      if (req.method !== undefined) {
        return { outcome: 'deny', reason: `authentication method ${req.method} is not supported`, code: 'bad-method' };
      }
      if (req.username === undefined) {
        return options.allowAnonymous
          ? { outcome: 'allow' }
          : { outcome: 'deny', reason: 'anonymous access is disabled', code: 'not-authorized' };
      }
      const expected = data.users?.get(req.username)?.scrypt;
      const ok = await verifyPassword(req.password ?? Buffer.alloc(0), expected ?? decoy);
      if (!expected || !ok) {
        logger.info({ clientId: req.clientId, username: req.username, protocol: req.protocol }, 'auth-file: bad credentials');
        return { outcome: 'deny', reason: 'bad username or password', code: 'bad-credentials' };
      }
      return { outcome: 'allow', principal: req.username };
    };

    const authorize = (req: AuthorizeRequest): AuthorizeResult => {
      if (!data.rules) return undefined;
      const decision = checkAcl(data.rules, req);
      if (decision.effect === 'deny') {
        logger.debug(
          {
            clientId: req.clientId,
            principal: req.principal,
            action: req.action,
            resource: req.resource,
            line: decision.rule?.line,
          },
          'auth-file: denied by ACL',
        );
      }
      return decision.effect;
    };

    const unregister: Unregister[] = [
      ctx.hooks.register('authenticate', authenticate),
      ctx.hooks.register('authorize', authorize),
    ];

    let stopWatching: (() => void) | undefined;
    const reload = async () => {
      try {
        data = await loadAuthFiles(options);
        logger.info({ users: data.users?.size, rules: data.rules?.length }, 'auth-file: reloaded');
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'auth-file: reload failed, keeping the previous contents');
      }
    };

    return {
      start() {
        const files = [options.passwordFile, options.aclFile].filter((f): f is string => f !== undefined);
        if (options.reloadOnChange && files.length > 0) stopWatching = watchFiles(files, () => void reload());
      },
      stop() {
        stopWatching?.();
        for (const u of unregister) u();
      },
      ready: () => true,
    };
  },
});
