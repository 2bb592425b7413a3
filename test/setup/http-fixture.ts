/** A local HTTP server for download tests: routes by path, counts hits, closes cleanly. */
import * as http from 'http';
import type { AddressInfo } from 'net';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, hit: number) => void;

export interface TestServer {
  url(p: string): string;
  hits(p: string): number;
  /** Absolute request URLs seen (as a proxy would receive them). */
  seen: string[];
  close(): Promise<void>;
  server: http.Server;
}

export async function startServer(routes: Record<string, Handler>): Promise<TestServer> {
  const counts = new Map<string, number>();
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    const p = req.url?.startsWith('http') ? new URL(req.url).pathname : (req.url ?? '').split('?')[0];
    const n = (counts.get(p) ?? 0) + 1;
    counts.set(p, n);
    const h = routes[p];
    if (!h) { res.statusCode = 404; res.end('not found'); return; }
    h(req, res, n);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (p) => `http://127.0.0.1:${port}${p}`,
    hits: (p) => counts.get(p) ?? 0,
    seen,
    server,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Sends `body` with its Content-Length, or only its first `cutAt` bytes before destroying the socket. */
export function sendBody(res: http.ServerResponse, body: Buffer, cutAt?: number): void {
  res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/zip' });
  if (cutAt === undefined) { res.end(body); return; }
  res.write(body.subarray(0, cutAt), () => setTimeout(() => res.socket?.destroy(), 20));
}
