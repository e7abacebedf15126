import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../config/load.js';
import { connect } from '../../runtime/bootstrap.js';
import { contracts, valueSubject, WireCodec, type Alert, type PlaybookAction } from '../../../schemas/index.js';

const SEVERITY_COLOUR: Record<Alert['severity'], string> = { info: '36', warning: '33', critical: '31' };

export function formatAlert(alert: Alert, colour: boolean): string {
  const paint = (code: string, text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const when = new Date(alert.window_start).toISOString().replace('T', ' ').slice(0, 16);
  const head = `${when}  ${paint(SEVERITY_COLOUR[alert.severity], alert.severity.toUpperCase().padEnd(8))} ${alert.status.padEnd(8)} ${alert.rule}  ${alert.key}`;
  return `${head}\n    ${alert.evidence}\n    observed ${alert.observed.toFixed(1)}  baseline ${alert.baseline.toFixed(1)}  score ${alert.score.toFixed(2)}  id ${alert.alert_id}#${alert.sequence}`;
}

export function formatAction(action: PlaybookAction, colour: boolean): string {
  const paint = (code: string, text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const when = new Date(action.window_end).toISOString().replace('T', ' ').slice(0, 16);
  const flags = [action.dry_run ? 'dry-run' : '', action.requires_approval ? 'needs approval' : ''].filter(Boolean).join(', ');
  const status = action.status === 'proposed' ? paint('32', 'PROPOSED') : paint('2', action.status.toUpperCase());
  const parameters = Object.entries(action.parameters).map(([k, v]) => `${k}=${v}`).join(' ');
  return `${when}  ${status} ${action.action} on ${action.target_key}${flags ? ` (${flags})` : ''}\n    ${action.reason}\n    ${parameters ? `${parameters}  ` : ''}playbook ${action.playbook}/${action.playbook_rule}  id ${action.action_id}  alert ${action.alert_id}`;
}

export function registerTailCommand(program: Command): void {
  program
    .command('tail')
    .description('pretty-print alerts or playbook actions as they arrive (Avro, decoded through the registry)')
    .argument('<stream>', 'alerts or actions')
    .option('--from-beginning', 'start at the oldest message instead of new ones')
    .option('--max <n>', 'stop after n messages')
    .option('--idle <seconds>', 'stop after this many seconds without a message')
    .action(async (stream: string, options: { fromBeginning?: boolean; max?: string; idle?: string }) => {
      if (stream !== 'alerts' && stream !== 'actions') throw new Error(`unknown stream "${stream}": use \`costline tail alerts\` or \`costline tail actions\``);
      const config = loadConfig({ file: program.opts().config });
      const connections = connect(config, '-tail');
      const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
      const topic = stream === 'alerts' ? config.topics.alerts : config.topics.actions;
      const alerts = new WireCodec<Alert>(connections.registry, contracts.alert, valueSubject(config.topics.alerts));
      const actions = new WireCodec<PlaybookAction>(connections.registry, contracts.action, valueSubject(config.topics.actions));
      const render = async (value: Buffer | null): Promise<string> => {
        const decoded = stream === 'alerts' ? await alerts.decode(value) : await actions.decode(value);
        if (!decoded.ok) return `(undecodable: ${decoded.detail})`;
        return stream === 'alerts' ? formatAlert(decoded.value as Alert, colour) : formatAction(decoded.value as PlaybookAction, colour);
      };
      // A throwaway group that commits nothing: tailing never moves anyone's offsets.
      const consumer = connections.kafka.consumer({ groupId: `costline-tail-${randomUUID()}` });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: options.fromBeginning === true });
      const max = options.max ? Number(options.max) : Number.POSITIVE_INFINITY;
      const idleMs = options.idle ? Number(options.idle) * 1000 : Number.POSITIVE_INFINITY;
      let seen = 0;
      let lastAt = Date.now();
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
            process.stdout.write(`${await render(message.value)}\n`);
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
