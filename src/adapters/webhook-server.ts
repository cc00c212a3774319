import type { AddressInfo } from 'node:net';

export interface WebhookRequest {
  method: string;
  path: string;
  body: Buffer;
}

export interface WebhookAnswer {
  status: number;
  body: unknown;
}

export interface WebhookServer {
  /** http://host:port */
  url: string;
  close(): Promise<void>;
}

/**
 * A small HTTP server for webhooks: POST bodies up to `maxBodyBytes` (413 beyond, without reading
 * the rest), other methods 405, JSON answers.
 */
export async function serveWebhooks(host: string, port: number, maxBodyBytes: number, handle: (request: WebhookRequest) => Promise<WebhookAnswer>): Promise<WebhookServer> {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...(status === 413 ? { Connection: 'close' } : {}) });
      res.end(text);
    };
    if (req.method !== 'POST') return reply(405, { error: 'only POST is accepted' });
    if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) {
      reply(413, { error: `body over ${maxBodyBytes} bytes` });
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        refused = true;
        reply(413, { error: `body over ${maxBodyBytes} bytes` });
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      handle({ method: req.method!, path: req.url ?? '/', body: Buffer.concat(chunks) }).then(
        (answer) => reply(answer.status, answer.body),
        (err: Error) => reply(500, { error: err.message }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
