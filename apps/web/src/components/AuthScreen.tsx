import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api, describeError, ApiError } from '../api';
import type { PublicUser } from '../contract';

interface Props {
  notice?: string | undefined;
  onSignedIn: (user: PublicUser) => void;
}

type Mode = 'login' | 'register';

export function AuthScreen({ notice, onSignedIn }: Props) {
  const [mode, setMode] = useState<Mode>('login');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [firstName, setFirstName] = useState('');
  const [lastName, setLastName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const emailRef = useRef<HTMLInputElement>(null);
  const firstNameRef = useRef<HTMLInputElement>(null);
  const switched = useRef(false);
  const errorId = useId();
  const passwordHintId = useId();

  // After switching forms, focus goes to the new form's first field (not on first load: autoFocus does that).
  useEffect(() => {
    if (!switched.current) return;
    (mode === 'register' ? firstNameRef : emailRef).current?.focus();
  }, [mode]);

  const switchMode = (next: Mode) => {
    switched.current = true;
    setMode(next);
    setError(null);
  };

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    if (mode === 'register' && new TextEncoder().encode(password).length < 8) {
      setError('Choose a password of at least 8 characters.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const user =
        mode === 'login'
          ? await api.login(email.trim(), password)
          : await api.register(email.trim(), password, firstName.trim(), lastName.trim());
      onSignedIn(user);
    } catch (err) {
      setError(friendly(err));
      setBusy(false);
    }
  };

  const registering = mode === 'register';
  return (
    <main className="auth">
      <section className="auth-card" aria-labelledby="auth-title">
        <div className="auth-brand">
          <div className="brand-mark" aria-hidden="true" />
          <span>cohortGPT</span>
        </div>
        <h1 id="auth-title">{registering ? 'Create your account' : 'Welcome back'}</h1>
        <p className="muted">
          {registering ? 'It takes ten seconds.' : 'Log in to pick up where you left off.'}
        </p>
        {notice && !error && <p className="notice">{notice}</p>}
        <form onSubmit={onSubmit} aria-describedby={error ? errorId : undefined}>
          {registering && (
            <div className="field-row">
              <label className="field">
                <span>First name</span>
                <input
                  ref={firstNameRef}
                  data-testid="first-name"
                  name="firstName"
                  autoComplete="given-name"
                  required
                  maxLength={100}
                  value={firstName}
                  onChange={(e) => setFirstName(e.target.value)}
                />
              </label>
              <label className="field">
                <span>Last name</span>
                <input
                  data-testid="last-name"
                  name="lastName"
                  autoComplete="family-name"
                  required
                  maxLength={100}
                  value={lastName}
                  onChange={(e) => setLastName(e.target.value)}
                />
              </label>
            </div>
          )}
          <label className="field">
            <span>Email</span>
            <input
              ref={emailRef}
              data-testid="email"
              name="email"
              type="email"
              autoComplete="email"
              autoFocus
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </label>
          <label className="field">
            <span>Password</span>
            <input
              data-testid="password"
              name="password"
              type="password"
              autoComplete={registering ? 'new-password' : 'current-password'}
              required
              minLength={registering ? 8 : undefined}
              maxLength={registering ? 72 : undefined}
              aria-describedby={registering ? passwordHintId : undefined}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            {registering && (
              <small id={passwordHintId} className="muted">
                8 to 72 characters.
              </small>
            )}
          </label>
          {error && (
            <p id={errorId} className="form-error" role="alert">
              {error}
            </p>
          )}
          <button data-testid="submit" type="submit" className="btn primary wide" disabled={busy}>
            {busy ? 'Please wait…' : registering ? 'Create account' : 'Log in'}
          </button>
        </form>
        <p className="auth-switch">
          {registering ? (
            <>
              Already have an account?{' '}
              <button
                type="button"
                className="link"
                data-testid="switch-to-login"
                onClick={() => switchMode('login')}
              >
                Log in
              </button>
            </>
          ) : (
            <>
              New here?{' '}
              <button
                type="button"
                className="link"
                data-testid="switch-to-register"
                onClick={() => switchMode('register')}
              >
                Create an account
              </button>
            </>
          )}
        </p>
      </section>
    </main>
  );
}

function friendly(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'invalid_credentials') return 'That email and password do not match an account.';
    if (err.code === 'email_taken') return 'An account with this email already exists. Try logging in.';
    if (err.status === 429) return describeError(err);
    if (err.status === 400) return `Please check the form: ${err.message}`;
  }
  return describeError(err);
}
