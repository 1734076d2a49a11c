/**
 * The wizard's last act: once the stage's conversation has opened the page's session socket (its
 * panel subscribes before it starts the socket, so the reply cannot slip past it), send one typed
 * greeting; the avatar answers it aloud with the settings just saved.
 */
import { watch } from 'vue';
import { useSession } from '../stores/session.js';

export function greetWhenStageIsOpen(text: string, timeoutMs = 30_000): Promise<boolean> {
  const session = useSession();
  return new Promise((resolve) => {
    // Called only after `stop` exists: the watcher is not immediate, the timer fires later.
    const finish = (sent: boolean) => {
      clearTimeout(timer);
      stop();
      resolve(sent);
    };
    const sendIfOpen = () => {
      if (session.connection.value === 'open' && session.client) finish(session.send({ type: 'text', text, source: 'typed' }));
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const stop = watch(session.connection, sendIfOpen);
    sendIfOpen();
  });
}
