/** SaslHandshake and SaslAuthenticate layouts. */
import { a, f } from '../protocol/schema.js';

export const SaslHandshakeRequest = [f('mechanism', 'string')];
export const SaslHandshakeResponse = [f('errorCode', 'int16'), a('mechanisms', 'string')];

export const SaslAuthenticateRequest = [f('authBytes', 'bytes')];
export const SaslAuthenticateResponse = [
  f('errorCode', 'int16'),
  f('errorMessage', 'string', '0+', { nullable: '0+' }),
  f('authBytes', 'bytes', '0+', { default: Buffer.alloc(0) }),
  f('sessionLifetimeMs', 'int64', '1+'),
];
