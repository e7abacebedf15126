import type { Command } from 'commander';
import { envLines, stackDown, stackStatus, stackUp, endpointsFromEnv, localEndpoints } from '../../../deploy/stack/stack.js';
import { narrator } from '../narrate.js';

export function registerStackCommands(program: Command): void {
  const stack = program.command('stack').description('the local real services: Apache Kafka, a Schema Registry (Apicurio), ClickHouse');
  const say = narrator(process.stderr);

  stack
    .command('up')
    .description('install (first use) and start the local stack; idempotent')
    .action(async () => {
      const started = Date.now();
      const endpoints = await stackUp((message) => say.step(message));
      say.done(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)}s. For other shells: eval "$(npx costline stack env)"`);
      for (const line of envLines(endpoints)) say.detail(line);
    });

  stack
    .command('down')
    .description('stop every process the local stack started')
    .action(async () => {
      await stackDown((message) => say.step(message));
      say.done('stack stopped; no process left');
    });

  stack
    .command('status')
    .description('what runs where')
    .action(async () => {
      const statuses = await stackStatus();
      for (const s of statuses) {
        const pid = s.pid ? ` pid ${s.pid}` : '';
        const log = s.logFile ? `  log ${s.logFile}` : '';
        process.stdout.write(`${s.name.padEnd(16)} ${s.state.padEnd(9)} ${s.endpoint}${pid}${log}\n`);
      }
      if (statuses.some((s) => s.state === 'unhealthy')) process.exitCode = 1;
    });

  stack
    .command('env')
    .description('print export lines for eval: eval "$(costline stack env)"')
    .action(() => {
      for (const line of envLines(endpointsFromEnv() ?? localEndpoints())) process.stdout.write(`${line}\n`);
    });
}
