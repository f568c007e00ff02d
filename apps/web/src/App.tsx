import { useCallback, useEffect, useState } from 'react';
import { api, setSessionLostHandler } from './api';
import type { PublicUser } from './contract';
import { AuthScreen } from './components/AuthScreen';
import { ChatApp } from './components/ChatApp';

type Session =
  | { status: 'loading' }
  | { status: 'anonymous'; notice?: string }
  | { status: 'failed'; message: string }
  | { status: 'signed-in'; user: PublicUser };

export function App() {
  const [session, setSession] = useState<Session>({ status: 'loading' });

  const load = useCallback(() => {
    api.me().then(
      (user) => setSession(user ? { status: 'signed-in', user } : { status: 'anonymous' }),
      () => setSession({ status: 'failed', message: 'Cannot reach the server.' }),
    );
  }, []);

  const resume = () => {
    setSession({ status: 'loading' });
    load();
  };

  useEffect(() => {
    // The first render already shows 'loading'.
    load();
    setSessionLostHandler(() =>
      setSession((s) =>
        s.status === 'signed-in'
          ? { status: 'anonymous', notice: 'Your session ended. Please log in again.' }
          : s,
      ),
    );
  }, [load]);

  switch (session.status) {
    case 'loading':
      return (
        <div className="splash" aria-busy="true">
          <div className="brand-mark" aria-hidden="true" />
          <p>Loading…</p>
        </div>
      );
    case 'failed':
      return (
        <div className="splash">
          <div className="brand-mark" aria-hidden="true" />
          <p role="alert">{session.message}</p>
          <button type="button" className="btn primary" onClick={resume}>
            Try again
          </button>
        </div>
      );
    case 'anonymous':
      return (
        <AuthScreen
          notice={session.notice}
          onSignedIn={(user) => setSession({ status: 'signed-in', user })}
        />
      );
    case 'signed-in':
      return (
        <ChatApp
          key={session.user.id}
          me={session.user}
          onSignedOut={() => setSession({ status: 'anonymous' })}
        />
      );
  }
}
