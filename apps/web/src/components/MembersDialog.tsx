import { useMemo, useState } from 'react';
import { describeError } from '../api';
import { ASSISTANT_USER_ID, type UserInfo } from '../contract';
import { fullName } from '../lib/format';
import { useChatState, useController } from '../client/context';
import { Avatar } from './Avatar';
import { BlockButton } from './BlockButton';
import { Modal } from './Modal';
import { UserSearch } from './UserSearch';

interface Props {
  chatId: string;
  onClose: () => void;
}

export function MembersDialog({ chatId, onClose }: Props) {
  const controller = useController();
  const chat = useChatState((s) => s.chats[chatId]);
  const users = useChatState((s) => s.users);
  const online = useChatState((s) => s.online);
  const [busyId, setBusyId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirmLeave, setConfirmLeave] = useState(false);
  const [added, setAdded] = useState<string | null>(null);
  const [searchKey, setSearchKey] = useState(0);
  const assistant = useChatState((s) => s.assistant);
  const members = useMemo(() => chat?.members ?? [], [chat]);
  const memberIds = useMemo(() => new Set(members.map((m) => m.userId)), [members]);

  if (!chat) return null;
  const isOwner = chat.ownerId === controller.me.id;
  const assistantUser: UserInfo = assistant
    ? { id: assistant.id, fullName: assistant.fullName }
    : { id: ASSISTANT_USER_ID, fullName: { firstName: 'cohortGPT', lastName: 'Assistant' } };
  const assistantIsMember = memberIds.has(assistantUser.id);

  const add = async (user: UserInfo) => {
    setBusyId(user.id);
    setError(null);
    setAdded(null);
    try {
      await controller.addMember(chatId, user.id);
      setAdded(`${fullName(user)} was added.`);
      // A fresh, empty search box (focused again) for the next person.
      setSearchKey((k) => k + 1);
    } catch (err) {
      setError(describeError(err, 'add'));
    } finally {
      setBusyId(null);
    }
  };

  const leave = async () => {
    setError(null);
    try {
      await controller.leave(chatId);
      onClose();
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <Modal title={`${chat.title || 'Group'} · ${members.length} members`} onClose={onClose}>
      <ul className="member-list" aria-label="Members">
        {members.map((m) => {
          const name =
            m.userId === controller.me.id ? `${fullName(users[m.userId])} (you)` : fullName(users[m.userId]);
          return (
            <li key={m.userId} className="member">
              <Avatar id={m.userId} name={fullName(users[m.userId])} online={online[m.userId]} size="sm" />
              <span className="member-name">{name}</span>
              <span className="muted small">
                {m.role === 'owner' ? 'owner' : online[m.userId] ? 'online' : ''}
              </span>
              {m.userId !== controller.me.id && m.userId !== assistantUser.id && (
                <BlockButton userId={m.userId} name={fullName(users[m.userId])} variant="tiny" />
              )}
            </li>
          );
        })}
      </ul>
      {isOwner && (
        <div className="section">
          <UserSearch
            key={searchKey}
            label="Add people"
            onPick={(u) => void add(u)}
            exclude={memberIds}
            busyId={busyId}
            autoFocus={searchKey > 0}
          />
          {!assistantIsMember && (
            <button
              type="button"
              className="btn ghost add-assistant"
              data-testid="add-assistant"
              disabled={busyId === assistantUser.id}
              onClick={() => void add(assistantUser)}
            >
              Add cohortGPT to this group
            </button>
          )}
          {assistant && !assistant.enabled && (
            <p className="muted small">The assistant is not configured on this server yet.</p>
          )}
          {added && (
            <p className="notice small" role="status">
              {added}
            </p>
          )}
        </div>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <div className="section danger-zone">
        {confirmLeave ? (
          <p className="confirm-row">
            Leave this group?
            <button type="button" className="btn danger" autoFocus onClick={() => void leave()}>
              Leave
            </button>
            <button type="button" className="btn ghost" onClick={() => setConfirmLeave(false)}>
              Stay
            </button>
          </p>
        ) : (
          <button type="button" className="btn ghost danger-text" onClick={() => setConfirmLeave(true)}>
            Leave group
          </button>
        )}
      </div>
    </Modal>
  );
}
