import type {
  AssistantInfo,
  BlockedUser,
  Chat,
  ChatPage,
  ChatSummaryText,
  Message,
  PublicUser,
  SearchResult,
  UserInfo,
} from './contract';
import { ApiError, parseRetryAfter } from './errors';

export { ApiError, describeError } from './errors';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

let onSessionLost: () => void = () => undefined;

/** Called once when the session cannot be refreshed any more (the UI goes back to the login form). */
export function setSessionLostHandler(handler: () => void): void {
  onSessionLost = handler;
}

async function rawRequest(method: Method, path: string, body?: unknown): Promise<Response> {
  try {
    return await fetch(`/api${path}`, {
      method,
      credentials: 'same-origin',
      headers:
        body === undefined
          ? { accept: 'application/json' }
          : { 'content-type': 'application/json', accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network_error', 'Cannot reach the server. Check your connection and try again.');
  }
}

async function toApiError(res: Response): Promise<ApiError> {
  // A body that is not JSON (a proxy's HTML error page, for example) falls back to the status text.
  const data: unknown = await res.json().catch(() => null);
  const retry = parseRetryAfter(res.headers.get('retry-after'));
  if (isErrorBody(data)) return new ApiError(res.status, data.error.code, data.error.message, retry);
  const fallback =
    res.status >= 500 ? 'The server had a problem. Please try again.' : `Request failed (${res.status})`;
  return new ApiError(res.status, `http_${res.status}`, fallback, retry);
}

function isErrorBody(data: unknown): data is { error: { code: string; message: string } } {
  if (typeof data !== 'object' || data === null || !('error' in data)) return false;
  const error = (data as { error: unknown }).error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

/** `rejected`: the session is over (log in again); `unreachable`: no verdict (network or server trouble). */
export type RefreshResult = 'ok' | 'rejected' | 'unreachable';

let refreshing: Promise<RefreshResult> | null = null;
const REFRESHED_AT_KEY = 'cohort:session-refreshed-at';
const RECENT_REFRESH_MS = 10_000;

function refreshedRecently(): boolean {
  try {
    return Date.now() - Number(localStorage.getItem(REFRESHED_AT_KEY) ?? 0) < RECENT_REFRESH_MS;
  } catch {
    return false; // storage disabled: every tab refreshes for itself
  }
}

function markRefreshed(): void {
  try {
    localStorage.setItem(REFRESHED_AT_KEY, String(Date.now()));
  } catch {
    // storage disabled: nothing to share with other tabs
    return;
  }
}

/**
 * Rotates the session cookies. Single-flight within the tab and serialised across tabs with a Web Lock,
 * because two refreshes with the same refresh token look like token theft to the server, which then
 * revokes the whole session. A tab that waited on the lock finds the other tab's fresh cookies and
 * does not refresh again.
 */
export function refreshSession(): Promise<RefreshResult> {
  refreshing ??= (async () => {
    const run = async (): Promise<RefreshResult> => {
      if (refreshedRecently()) return 'ok';
      const res = await rawRequest('POST', '/auth/refresh');
      if (res.ok) {
        markRefreshed();
        return 'ok';
      }
      return res.status === 401 || res.status === 403 ? 'rejected' : 'unreachable';
    };
    try {
      const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
      return locks ? await locks.request('cohort-session-refresh', run) : await run();
    } catch (err) {
      if (err instanceof ApiError && err.status === 0) return 'unreachable';
      throw err;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

const NO_REFRESH = new Set(['/auth/login', '/auth/register', '/auth/refresh', '/auth/me']);

async function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  let res = await rawRequest(method, path, body);
  // Logout goes through the refresh too: with an expired access token it would otherwise leave the
  // refresh cookie in place, and the next visit would quietly sign the person back in.
  if (res.status === 401 && !NO_REFRESH.has(path)) {
    const refreshed = await refreshSession();
    if (refreshed === 'ok') res = await rawRequest(method, path, body);
    else if (refreshed === 'unreachable')
      throw new ApiError(0, 'network_error', 'Cannot reach the server. Try again in a moment.');
    if (res.status === 401 && path !== '/auth/logout') onSessionLost();
  }
  if (!res.ok) throw await toApiError(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const api = {
  me: async (): Promise<PublicUser | null> => {
    let res = await rawRequest('GET', '/auth/me');
    if (res.status === 401) {
      const refreshed = await refreshSession();
      if (refreshed === 'rejected') return null;
      if (refreshed === 'unreachable') throw new ApiError(0, 'network_error', 'Cannot reach the server.');
      res = await rawRequest('GET', '/auth/me');
      if (res.status === 401) return null;
    }
    if (!res.ok) throw await toApiError(res);
    return ((await res.json()) as { user: PublicUser }).user;
  },
  login: (email: string, password: string) =>
    request<{ user: PublicUser }>('POST', '/auth/login', { email, password }).then((r) => r.user),
  register: (email: string, password: string, firstName: string, lastName: string) =>
    request<{ user: PublicUser }>('POST', '/auth/register', {
      email,
      password,
      fullName: { firstName, lastName },
    }).then((r) => r.user),
  logout: () => request<void>('POST', '/auth/logout'),

  searchUsers: (q: string) =>
    request<{ users: UserInfo[] }>('GET', `/users/search?q=${encodeURIComponent(q)}`).then((r) => r.users),
  usersByIds: (ids: readonly string[]) =>
    request<{ users: UserInfo[] }>('GET', `/users?ids=${ids.map(encodeURIComponent).join(',')}`).then(
      (r) => r.users,
    ),

  /** One page of my chats, newest activity first; pass the previous page's `nextCursor` for the next one. */
  /** The people I blocked, one page at a time (ids only; names come from `usersByIds`). */
  listBlocked: (cursor?: string | null) =>
    request<{ users: BlockedUser[]; nextCursor: string | null }>(
      'GET',
      cursor ? `/users/blocked?cursor=${encodeURIComponent(cursor)}` : '/users/blocked',
    ),
  blockUser: (userId: string) => request<void>('PUT', `/users/${encodeURIComponent(userId)}/block`),
  unblockUser: (userId: string) => request<void>('DELETE', `/users/${encodeURIComponent(userId)}/block`),

  listChats: (page: { limit?: number; cursor?: string | null } = {}) => {
    const params = new URLSearchParams();
    if (page.limit !== undefined) params.set('limit', String(page.limit));
    if (page.cursor) params.set('cursor', page.cursor);
    const query = params.toString();
    return request<ChatPage>('GET', query ? `/chats?${query}` : '/chats');
  },
  getChat: (chatId: string) => request<{ chat: Chat }>('GET', `/chats/${chatId}`).then((r) => r.chat),
  createGroup: (title: string, memberIds: string[]) =>
    request<{ chat: Chat }>('POST', '/chats', { type: 'group', title, memberIds }).then((r) => r.chat),
  createDirect: (userId: string) =>
    request<{ chat: Chat }>('POST', '/chats', { type: 'direct', userId }).then((r) => r.chat),
  addMember: (chatId: string, userId: string) =>
    request<unknown>('POST', `/chats/${chatId}/members`, { userId }),
  removeMember: (chatId: string, userId: string) =>
    request<void>('DELETE', `/chats/${chatId}/members/${userId}`),

  messages: (chatId: string, cursor: { before?: number; after?: number; limit?: number }) => {
    const params = new URLSearchParams();
    if (cursor.before !== undefined) params.set('before', String(cursor.before));
    if (cursor.after !== undefined) params.set('after', String(cursor.after));
    params.set('limit', String(cursor.limit ?? 50));
    return request<{ messages: Message[] }>('GET', `/chats/${chatId}/messages?${params.toString()}`).then(
      (r) => r.messages,
    );
  },
  sendMessage: (chatId: string, body: SendBody) =>
    request<{ message: Message }>('POST', `/chats/${chatId}/messages`, body).then((r) => r.message),
  editMessage: (chatId: string, messageId: string, text: string) =>
    request<{ message: Message }>('PATCH', `/chats/${chatId}/messages/${messageId}`, { text }).then(
      (r) => r.message,
    ),
  deleteMessage: (chatId: string, messageId: string) =>
    request<void>('DELETE', `/chats/${chatId}/messages/${messageId}`),
  markRead: (chatId: string, seq: number) => request<void>('POST', `/chats/${chatId}/read`, { seq }),

  rename: (chatId: string, title: string) =>
    request<{ chat: Chat }>('PATCH', `/chats/${chatId}`, { title }).then((r) => r.chat),
  react: (chatId: string, messageId: string, emoji: string) =>
    request<void>('PUT', `/chats/${chatId}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`),
  unreact: (chatId: string, messageId: string, emoji: string) =>
    request<void>('DELETE', `/chats/${chatId}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`),
  searchMessages: (q: string, options: { chatId?: string; limit?: number } = {}) => {
    const params = new URLSearchParams({ q });
    if (options.chatId) params.set('chatId', options.chatId);
    if (options.limit !== undefined) params.set('limit', String(options.limit));
    return request<{ results: SearchResult[] }>('GET', `/search/messages?${params.toString()}`).then(
      (r) => r.results,
    );
  },

  assistant: () => request<{ assistant: AssistantInfo }>('GET', '/assistant').then((r) => r.assistant),
  createAssistantChat: (title?: string) =>
    request<{ chat: Chat }>('POST', '/chats', { type: 'assistant', ...(title ? { title } : {}) }).then(
      (r) => r.chat,
    ),
  summary: (chatId: string) => request<ChatSummaryText>('POST', `/chats/${chatId}/summary`),
};

/** The body of `POST /api/chats/:chatId/messages` (and of `chat:send`, with the chatId). */
export interface SendBody {
  text: string;
  clientMsgId: string;
  replyTo?: string;
  mentions?: string[];
}
