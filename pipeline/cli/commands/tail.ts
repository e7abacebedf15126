import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../config/load.js';
import { connect } from '../../runtime/bootstrap.js';
import { contracts, valueSubject, WireCodec, type Alert } from '../../../schemas/index.js';

const SEVERITY_COLOUR: Record<Alert['severity'], string> = { info: '36', warning: '33', critical: '31' };

export function formatAlert(alert: Alert, colour: boolean): string {
  const paint = (code: string, text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const when = new Date(alert.window_start).toISOString().replace('T', ' ').slice(0, 16);
  const head = `${when}  ${paint(SEVERITY_COLOUR[alert.severity], alert.severity.toUpperCase().padEnd(8))} ${alert.status.padEnd(8)} ${alert.rule}  ${alert.key}`;
  return `${head}\n    ${alert.evidence}\n    observed ${alert.observed.toFixed(1)}  baseline ${alert.baseline.toFixed(1)}  score ${alert.score.toFixed(2)}  id ${alert.alert_id}#${alert.sequence}`;
}

export function registerTailCommand(program: Command): void {
  program
    .command('tail')
    .description('pretty-print alerts as they arrive (Avro, decoded through the registry)')
    .argument('<stream>', 'alerts')
    .option('--from-beginning', 'start at the oldest message instead of new ones')
    .option('--max <n>', 'stop after n messages')
    .option('--idle <seconds>', 'stop after this many seconds without a message')
    .action(async (stream: string, options: { fromBeginning?: boolean; max?: string; idle?: string }) => {
      if (stream !== 'alerts') throw new Error(`unknown stream "${stream}": tail alerts (actions arrive with the playbook engine)`);
      const config = loadConfig({ file: program.opts().config });
      const connections = connect(config, '-tail');
      const codec = new WireCodec<Alert>(connections.registry, contracts.alert, valueSubject(config.topics.alerts));
      // A throwaway group that commits nothing: tailing never moves anyone's offsets.
      const consumer = connections.kafka.consumer({ groupId: `costline-tail-${randomUUID()}` });
      await consumer.connect();
      await consumer.subscribe({ topic: config.topics.alerts, fromBeginning: options.fromBeginning === true });
      const max = options.max ? Number(options.max) : Number.POSITIVE_INFINITY;
      const idleMs = options.idle ? Number(options.idle) * 1000 : Number.POSITIVE_INFINITY;
      let seen = 0;
      let lastAt = Date.now();
      const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
      let idleCheck: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        idleCheck = setInterval(() => {
          if (Date.now() - lastAt > idleMs) resolve();
        }, 250);
        void consumer.run({
          autoCommit: false,
          eachMessage: async ({ message }) => {
            lastAt = Date.now();
            const decoded = await codec.decode(message.value);
            process.stdout.write(decoded.ok ? `${formatAlert(decoded.value, colour)}\n` : `(undecodable message at offset ${message.offset}: ${decoded.detail})\n`);
            seen += 1;
            if (seen >= max) resolve();
          },
        });
      });
      clearInterval(idleCheck);
      await consumer.disconnect();
      await connections.close();
    });
}
