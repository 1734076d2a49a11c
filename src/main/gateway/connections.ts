/** Tracks open WebSocket connections for the seed's `GET /connections`. */
import { randomUUID } from 'node:crypto';

export interface ConnectionInfo {
  id: string;
  path: string;
  remote: string;
  connected_at: string;
}

export class ConnectionRegistry {
  private readonly open = new Map<string, ConnectionInfo>();

  add(path: string, remote: string): () => void {
    const id = randomUUID();
    this.open.set(id, { id, path, remote, connected_at: new Date().toISOString() });
    return () => this.open.delete(id);
  }

  list(): ConnectionInfo[] {
    return [...this.open.values()];
  }

  get size(): number {
    return this.open.size;
  }
}
