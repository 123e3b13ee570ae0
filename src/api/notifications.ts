// The one fan-out point for broadcast notifications (notify_history_changed, status updates):
// every transport that pushes to clients (the WebSocket, MQTT) subscribes here, so each gets the
// same method and params.

export type NotificationListener = (method: string, params: unknown[]) => void;

export class NotificationBus {
  private readonly listeners = new Set<NotificationListener>();

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: NotificationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Hands one notification to every listener; a listener that throws does not stop the others. */
  notify(method: string, params: unknown[]): void {
    for (const l of this.listeners) {
      try {
        l(method, params);
      } catch {
        // A transport's failure is its own to log; broadcasting goes on.
      }
    }
  }
}
