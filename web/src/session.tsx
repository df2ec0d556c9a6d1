import { createContext, useContext } from 'react';
import type { WhoamiView } from '../../libs/contracts/api-views.js';

/** Who is signed in, and how to sign out. */
export interface Session {
  whoami: WhoamiView;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside of a signed-in page');
  return session;
}

/** Whether the signed-in token may act on rollouts (operator or admin, or auth turned off). */
export function canOperate(whoami: WhoamiView): boolean {
  return !whoami.authEnabled || whoami.role === 'operator' || whoami.role === 'admin';
}
