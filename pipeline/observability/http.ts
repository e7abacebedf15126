import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** /metrics (Prometheus), /healthz (the process lives) and /readyz (the pipeline is consuming and its sinks work). */
export function startHttpEndpoint(port: number, registry: Registry, ready: () => boolean): Promise<Server | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then(
        (body) => {
          response.writeHead(200, { 'content-type': registry.contentType });
          response.end(body);
        },
        (error: Error) => {
          response.writeHead(500);
          response.end(error.message);
        },
      );
    } else if (path === '/healthz') {
      response.writeHead(200).end('ok\n');
    } else if (path === '/readyz') {
      const isReady = ready();
      response.writeHead(isReady ? 200 : 503).end(isReady ? 'ready\n' : 'not ready\n');
    } else {
      response.writeHead(404).end('not found: try /metrics, /healthz or /readyz\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new Error(`metrics port ${port} is taken. Fix: set observability.metricsPort (COSTLINE_METRICS_PORT) to a free port, or 0 to turn the endpoint off`) : error),
    );
    server.listen(port, () => resolve(server));
  });
}
