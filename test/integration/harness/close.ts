/** Closing a test's HTTP server at once, as a backend that dies does. */
import type http from 'node:http';

/** Drops every connection of `server` and waits until it no longer listens. */
export async function closeAtOnce(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
