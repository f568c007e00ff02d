import { useEffect, useState } from 'react';
import { useChatState } from '../client/context';
import { Icon } from './Icon';

/** Shown while the live connection is down; the first connection gets a short grace period. */
export function ReconnectBanner() {
  const connection = useChatState((s) => s.connection);
  const reason = useChatState((s) => s.connectionReason);
  const [visible, setVisible] = useState(false);
  const [offline, setOffline] = useState(() => !navigator.onLine);

  // Connected again: hidden at once (state adjusted while rendering, as React advises instead of an effect).
  if (connection === 'connected' && visible) setVisible(false);

  useEffect(() => {
    if (connection === 'connected') return;
    const timer = window.setTimeout(() => setVisible(true), connection === 'connecting' ? 1500 : 0);
    return () => window.clearTimeout(timer);
  }, [connection]);

  useEffect(() => {
    const update = () => setOffline(!navigator.onLine);
    window.addEventListener('online', update);
    window.addEventListener('offline', update);
    return () => {
      window.removeEventListener('online', update);
      window.removeEventListener('offline', update);
    };
  }, []);

  if (!visible) return null;
  return (
    <div className="reconnect-banner" data-testid="reconnect-banner" role="status" aria-live="polite">
      {offline ? <Icon name="wifiOff" size={18} /> : <span className="spinner" aria-hidden="true" />}
      <span>
        {offline
          ? 'You are offline. Messages you send will go out when you are back.'
          : reason === 'too_many_connections'
            ? 'You have too many tabs or devices connected. Close one; this tab keeps trying.'
            : 'Connection lost. Reconnecting…'}
      </span>
    </div>
  );
}
