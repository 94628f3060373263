// Filter worker thread: hosts one filter component instance, answers batches posted by
// worker-runner.ts. The broker terminates this thread when a batch overruns its time budget.
import v8 from 'node:v8';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateGuest, memoryBytes, runBatch, sandboxImports } from './guest.mjs';

v8.setFlagsFromString('--experimental-wasm-extended-const');

const { modulePath, modules, grants, config, memoryBudgetBytes } = workerData;
const { instantiate } = await import(pathToFileURL(modulePath).href);

let guest;

/** The guest's log lines go to the broker's thread, which rate-limits and logs them. */
function hostLog(level, message) {
  parentPort.postMessage({ type: 'log', level, message });
}

/** A fresh instance: jco refuses further calls on an instance after a trap. */
async function fresh() {
  guest = await instantiateGuest(instantiate, modules, await sandboxImports(grants, hostLog));
  guest.exports.configure(config);
}

function describe(err) {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `error value ${JSON.stringify(err)?.slice(0, 200)}`;
}

/** Why a call failed: a denied capability, the memory budget, or another trap/exception. */
function kindOf(err) {
  if (err?.name === 'CapabilityDenied') return 'denied';
  // A guest whose allocator hit the cap traps with its memory at (or one growth step below) the budget.
  if (memoryBytes(guest.memories) >= memoryBudgetBytes * 0.9) return 'memory';
  return 'trap';
}

/** Settles when the current instance is ready; batches wait for it after a re-instantiation. */
let ready = renew();

/** Re-instantiates and tells the host when the instance can take batches again. */
function renew() {
  return fresh().then(
    () => parentPort.postMessage({ type: 'ready' }),
    (err) => parentPort.postMessage({ type: 'fatal', error: describe(err) }),
  );
}

parentPort.on('message', async (msg) => {
  if (msg.type !== 'batch') return;
  await ready;
  try {
    const verdicts = runBatch(guest, msg.messages);
    // A guest that caught its own out-of-memory answers `error`: tag those as memory failures and
    // start afresh, since its heap stays full.
    const full = memoryBytes(guest.memories) >= memoryBudgetBytes * 0.9;
    if (full) for (const v of verdicts) if (v !== 0 && v[0] === 3) v[2] = 'memory';
    parentPort.postMessage({ type: 'result', id: msg.id, verdicts });
    if (full) ready = renew();
  } catch (err) {
    const kind = kindOf(err);
    parentPort.postMessage({ type: 'error', id: msg.id, kind, error: describe(err), memoryBytes: memoryBytes(guest.memories) });
    ready = renew();
  }
});
