// Proof of work for a join, when the server asks for it (428 PROOF_REQUIRED): a challenge from
// the server, solved by a Web Worker (pow-worker.js) so the page stays responsive meanwhile.
import { ApiError, api } from './api.js';

/** The X-Queue-Proof for this fan's next join of concert `cid`. */
export async function proveWork(cid) {
  const c = await api('GET', `/concerts/${encodeURIComponent(cid)}/queue/challenge`);
  const worker = new Worker(new URL('./pow-worker.js', import.meta.url), { type: 'module' });
  try {
    const nonce = await new Promise((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data.nonce);
      worker.onerror = (e) => reject(new ApiError(0, 'NETWORK', e.message));
      worker.postMessage({ challenge: c.challenge, bits: c.bits });
    });
    return `${c.challenge}.${nonce}`;
  } finally {
    worker.terminate();
  }
}
