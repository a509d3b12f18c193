/** Asks for the admin key, checks it against the API, keeps it in sessionStorage. */
import { type FormEvent, useState } from 'react';
import { api, explain, storeKey } from './api.ts';

/** The login screen. */
export function Login({ onLogin, reason }: { onLogin: () => void; reason?: string }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api('/info', { key: key.trim() });
      storeKey(key.trim());
      onLogin();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form onSubmit={submit} className="card">
        <h1>WADI admin</h1>
        <p className="muted">
          Enter an admin key (ADMIN_API_KEY, or the key WADI printed when it started). It is kept in this tab only.
        </p>
        {reason && <div className="note note-error">{reason}</div>}
        <input
          type="password"
          autoComplete="current-password"
          placeholder="Admin key"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-label="admin key"
          data-testid="key-input"
          required
        />
        <button type="submit" disabled={busy || !key.trim()} data-testid="login">
          {busy ? 'Checking…' : 'Open dashboard'}
        </button>
        {error && (
          <div className="note note-error" role="alert" data-testid="login-error">
            {error}
          </div>
        )}
      </form>
    </main>
  );
}
