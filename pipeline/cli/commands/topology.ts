import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { describeTopology, formatTopology } from '../../topology.js';

export function registerTopologyCommand(program: Command): void {
  program
    .command('topology')
    .description('print the sources, processors, topics and sinks this configuration runs (Kafka Streams style)')
    .option('--json', 'as JSON')
    .action((options: { json?: boolean }) => {
      const config = loadConfig({ file: program.opts().config });
      const topology = describeTopology(config);
      process.stdout.write(`${options.json ? JSON.stringify(topology, null, 2) : formatTopology(topology)}\n`);
    });
}
