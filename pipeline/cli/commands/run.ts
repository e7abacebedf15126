import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../../observability/logger.js';
import { createMetrics } from '../../observability/metrics.js';
import { startHttpEndpoint } from '../../observability/http.js';
import { connect, prepare } from '../../runtime/bootstrap.js';
import { Pipeline } from '../../runtime/pipeline.js';

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run the pipeline until SIGTERM or SIGINT')
    .action(async () => {
      const config = loadConfig({ file: program.opts().config });
      const logger = createLogger({ level: config.observability.logLevel });
      const metrics = createMetrics();
      const connections = connect(config, '', logger);
      await prepare(config, connections, logger);
      const pipeline = new Pipeline({ config, logger, metrics, ...connections });
      const server = await startHttpEndpoint(config.observability.metricsPort, metrics.registry, () => pipeline.ready);
      await pipeline.start();
      logger.info({ metrics: config.observability.metricsPort || 'off' }, 'costline running');
      await new Promise<void>((resolve) => {
        const shutdown = (signal: string) => {
          logger.info({ signal }, 'shutting down: last flush and commit');
          resolve();
        };
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        process.once('SIGINT', () => shutdown('SIGINT'));
      });
      await pipeline.stop();
      server?.close();
      await connections.close();
      logger.info('stopped');
    });
}
