import { useEffect, useState } from 'react';
import type { PublicUser } from '../contract';
import { ChatController } from '../client/controller';
import { ControllerContext } from '../client/context';
import { useStore } from '../lib/store';
import { ChatList } from './ChatList';
import { Conversation } from './Conversation';
import { NewChatDialog } from './NewChatDialog';
import { ReconnectBanner } from './ReconnectBanner';
import { Icon } from './Icon';

interface Props {
  me: PublicUser;
  onSignedOut: (notice?: string) => void;
}

export function ChatApp({ me, onSignedOut }: Props) {
  const [controller] = useState(
    () => new ChatController(me, () => onSignedOut('Your session ended. Please log in again.')),
  );
  const activeChatId = useStore(controller.store, (s) => s.activeChatId);
  const [dialog, setDialog] = useState<'direct' | 'group' | null>(null);

  useEffect(() => {
    controller.start();
    return () => controller.stop();
  }, [controller]);

  const logout = () => {
    controller.logout().then(
      () => onSignedOut(),
      () => onSignedOut(),
    );
  };

  return (
    <ControllerContext.Provider value={controller}>
      <div className={`app ${activeChatId ? 'show-conversation' : 'show-list'}`}>
        <ReconnectBanner />
        <div className="app-body">
          <aside className="sidebar" aria-label="Chats">
            <ChatList
              onNewDirect={() => setDialog('direct')}
              onNewGroup={() => setDialog('group')}
              onLogout={logout}
            />
          </aside>
          <main className="pane">
            {activeChatId ? (
              <Conversation key={activeChatId} chatId={activeChatId} />
            ) : (
              <div className="empty-pane">
                <div className="empty-illustration" aria-hidden="true">
                  <Icon name="chat" size={40} />
                </div>
                <h2>Pick a chat</h2>
                <p className="muted">Choose a conversation on the left, or start a new one.</p>
                <button type="button" className="btn primary" onClick={() => setDialog('direct')}>
                  Start a chat
                </button>
              </div>
            )}
          </main>
        </div>
      </div>
      {dialog && (
        <NewChatDialog
          mode={dialog}
          onClose={() => setDialog(null)}
          onCreated={(chatId) => {
            setDialog(null);
            controller.openChat(chatId);
          }}
        />
      )}
    </ControllerContext.Provider>
  );
}
