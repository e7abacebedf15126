import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../../observability/logger.js';
import { createClickHouse, migrate } from '../../../sinks/clickhouse/index.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply the ClickHouse migrations that are missing (also done by `run` at start)')
    .action(async () => {
      const config = loadConfig({ file: program.opts().config });
      const logger = createLogger({ level: config.observability.logLevel });
      const client = createClickHouse(config.clickhouse);
      try {
        const applied = await migrate(client, config.clickhouse.database, (m) => logger.info({ version: m.version, name: m.name }, 'migration applied'));
        logger.info({ database: config.clickhouse.database, applied: applied.length }, applied.length ? 'migrations applied' : 'schema already up to date');
      } finally {
        await client.close();
      }
    });
}
