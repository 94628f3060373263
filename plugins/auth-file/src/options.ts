import { z } from '@robustmq/sdk';

/** Environment variables arrive as strings: accept "true"/"false" as well as booleans. */
const flag = (fallback: boolean) =>
  z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean()).default(fallback);

/** Options of the auth-file plugin. */
export const authFileOptions = z.object({
  /** File of `user:$scrypt$…` lines; unset = no users (only anonymous clients, if allowed). */
  passwordFile: z.string().min(1).optional(),
  /** ACL file; unset = no opinion on authorization (every authenticated client may do anything). */
  aclFile: z.string().min(1).optional(),
  /** Let clients connect without a username. */
  allowAnonymous: flag(false),
  /** Re-read both files when they change (a bad edit is logged and the previous contents kept). */
  reloadOnChange: flag(false),
});

export type AuthFileOptions = z.output<typeof authFileOptions>;
