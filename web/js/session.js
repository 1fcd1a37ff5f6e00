// Who is signed in (API key and name, per browser) and their place in each concert's line (per tab).
// Every read and write survives blocked storage: the page then just forgets.

function safeGet(store, key) { try { return store.getItem(key); } catch { return null; } }
function safeSet(store, key, value) { try { store.setItem(key, value); } catch { /* storage blocked */ } }
function safeDel(store, key) { try { store.removeItem(key); } catch { /* storage blocked */ } }

export const session = {
  get apiKey() { return safeGet(localStorage, 'encore.apiKey'); },
  get name() { return safeGet(localStorage, 'encore.userName'); },
  signIn(apiKey, name) {
    safeSet(localStorage, 'encore.apiKey', apiKey);
    safeSet(localStorage, 'encore.userName', name);
  },
  setName(name) { safeSet(localStorage, 'encore.userName', name); },
  signOut() {
    safeDel(localStorage, 'encore.apiKey');
    safeDel(localStorage, 'encore.userName');
    try {
      for (const k of Object.keys(sessionStorage)) if (k.startsWith('encore.')) sessionStorage.removeItem(k);
    } catch { /* storage blocked */ }
  },
  // The queue token is per concert and per tab (sessionStorage), as the waiting room is.
  queueToken(cid) { return safeGet(sessionStorage, `encore.queue.${cid}`); },
  setQueueToken(cid, token) { safeSet(sessionStorage, `encore.queue.${cid}`, token); },
  clearQueueToken(cid) {
    safeDel(sessionStorage, `encore.queue.${cid}`);
    safeDel(sessionStorage, `encore.ticket.${cid}`);
    safeDel(sessionStorage, `encore.drawn.${cid}`);
  },
  ticket(cid) {
    try { return JSON.parse(safeGet(sessionStorage, `encore.ticket.${cid}`) || 'null'); } catch { return null; }
  },
  setTicket(cid, ticket) { safeSet(sessionStorage, `encore.ticket.${cid}`, JSON.stringify(ticket)); },
  // The ticketId this tab saw in the pre-queue: its place comes from the draw, shown once drawn.
  drawnTicket(cid) { return safeGet(sessionStorage, `encore.drawn.${cid}`); },
  setDrawnTicket(cid, ticketId) { safeSet(sessionStorage, `encore.drawn.${cid}`, ticketId); },
};
