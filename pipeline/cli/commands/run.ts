import type { Command } from 'commander';
import { loadConfig, type ConfigOverride } from '../../config/load.js';
import { createLogger } from '../../observability/logger.js';
import { createMetrics } from '../../observability/metrics.js';
import { startHttpEndpoint } from '../../observability/http.js';
import { connect, prepare } from '../../runtime/bootstrap.js';
import { Pipeline } from '../../runtime/pipeline.js';

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run the pipeline until SIGTERM or SIGINT')
    .option('--stage-one-workers <n>', "worker threads for stage 1, 0 for the main thread, or 'auto' (default: pipeline.stageOneWorkers)")
    .action(async (options: { stageOneWorkers?: string }) => {
      const overrides = options.stageOneWorkers === undefined ? [] : [stageOneWorkersOverride(options.stageOneWorkers)];
      const config = loadConfig({ file: program.opts().config, overrides });
      const logger = createLogger({ level: config.observability.logLevel });
      const metrics = createMetrics();
      const connections = connect(config, '', logger);
      await prepare(config, connections, logger);
      const pipeline = new Pipeline({ config, logger, metrics, ...connections });
      const server = await startHttpEndpoint(config.observability.metricsPort, pipeline.registry, () => pipeline.ready);
      await pipeline.start();
      logger.info({ metrics: config.observability.metricsPort || 'off' }, 'costline running');
      const failure = await new Promise<Error | undefined>((resolve) => {
        const shutdown = (signal: string) => {
          logger.info({ signal }, 'shutting down: last flush and commit');
          resolve(undefined);
        };
        process.once('SIGTERM', () => shutdown('SIGTERM'));
        process.once('SIGINT', () => shutdown('SIGINT'));
        pipeline.once('error', (error) => {
          logger.fatal({ err: error }, 'pipeline failed: stopping the rest (what is complete is committed; the rest replays on the next start)');
          resolve(error);
        });
      });
      await pipeline.stop();
      server?.close();
      await connections.close();
      if (failure) throw failure;
      logger.info('stopped');
    });
}

/** `--stage-one-workers 2` or `auto`: validated with the rest of the config, naming the option on error. */
export function stageOneWorkersOverride(value: string): ConfigOverride {
  return { path: 'pipeline.stageOneWorkers', value: /^\d+$/.test(value) ? Number(value) : value, from: 'the --stage-one-workers option' };
}
