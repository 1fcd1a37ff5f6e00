// The box office's calls: the public API with the admin token (kept for this tab only).
import { api } from '../api.js';

const KEY = 'encore.adminToken';

export const admin = {
  get token() { try { return sessionStorage.getItem(KEY); } catch { return null; } },
  signIn(token) { try { sessionStorage.setItem(KEY, token); } catch { /* storage blocked */ } },
  signOut() { try { sessionStorage.removeItem(KEY); } catch { /* storage blocked */ } },
};

/** One admin call to /api/v1; rejects with ApiError like api(). */
export function call(method, path, body, extra = {}) {
  return api(method, path, { ...extra, body, auth: false, headers: { Authorization: `Bearer ${admin.token}` } });
}

/** `datetime-local` input value ↔ RFC 3339, in the browser's time zone. */
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
export function fromLocalInput(value) { return value ? new Date(value).toISOString() : null; }
