// Preloaded (node --import) into the jco build process only, never into the broker:
// jco 1.35 reads WIT files through preview2-shim, which no longer grants filesystem access by
// default ("failed to get path metadata (os error 44)"). Grant the build process its own files.
import { createRequire } from 'node:module';

import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
// The shim instance jco-transpile's wasm-tools uses is the one resolved from jco-transpile itself.
const transpileMain = require.resolve('@bytecodealliance/jco-transpile');
const shimFs = createRequire(transpileMain).resolve('@bytecodealliance/preview2-shim/filesystem');
const { _setPreopens } = await import(pathToFileURL(shimFs).href);
_setPreopens({ '/': '/' });
