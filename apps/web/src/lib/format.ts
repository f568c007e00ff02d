import type { ChatSummary, UserInfo } from '../contract';

/** A person's name; their email when they have no name and it is visible to me (it often is not). */
export function fullName(user: UserInfo | undefined): string {
  if (!user) return '…';
  const name = `${user.fullName.firstName} ${user.fullName.lastName}`.trim();
  return name || user.email || 'Unknown user';
}

export function firstName(user: UserInfo | undefined): string {
  return user?.fullName.firstName || fullName(user);
}

export function initials(text: string): string {
  const parts = text.trim().split(/\s+/).filter(Boolean);
  const letters =
    parts.length > 1 ? [parts[0]![0], parts[parts.length - 1]![0]] : [parts[0]?.[0], parts[0]?.[1]];
  return letters.filter(Boolean).join('').toUpperCase() || '?';
}

/** The other person of a direct chat, when its members are known. */
export function otherMemberId(chat: ChatSummary, meId: string): string | undefined {
  if (chat.type !== 'direct') return undefined;
  return chat.members?.find((m) => m.userId !== meId)?.userId;
}

export function chatTitle(
  chat: ChatSummary,
  meId: string,
  users: Readonly<Record<string, UserInfo>>,
): string {
  if (chat.type === 'group') return chat.title || 'Untitled group';
  if (chat.type === 'assistant') return chat.title || 'cohortGPT';
  const other = otherMemberId(chat, meId);
  if (other) return fullName(users[other]);
  return chat.title || 'Direct chat';
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const shortDateFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const longDateFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'long',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
});
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

export function formatTime(iso: string): string {
  return timeFormat.format(new Date(iso));
}

export function formatFull(iso: string): string {
  return fullFormat.format(new Date(iso));
}

/** Chat list stamp: the time today, the weekday this week, the date before. */
export function formatListStamp(iso: string, now = new Date()): string {
  const d = new Date(iso);
  const days = Math.round((startOfDay(now) - startOfDay(d)) / 86_400_000);
  if (days <= 0) return timeFormat.format(d);
  if (days < 7) return weekdayFormat.format(d);
  return shortDateFormat.format(d);
}

export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

export function formatDay(iso: string, now = new Date()): string {
  const d = new Date(iso);
  const days = Math.round((startOfDay(now) - startOfDay(d)) / 86_400_000);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return longDateFormat.format(d);
}

/** "Ada is typing…", "Ada and Bo are typing…", "3 people are typing…". */
export function typingLine(names: string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

/** A small stable hue per id, so each person keeps their avatar colour. */
export function hueOf(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) % 360;
  return h;
}
