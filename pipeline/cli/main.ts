import { Command, CommanderError } from 'commander';
import { registerStackCommands } from './commands/stack.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerRunCommand } from './commands/run.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerTailCommand } from './commands/tail.js';
import { registerSimulateCommand } from './commands/simulate.js';
import { registerImportFocusCommand } from './commands/import-focus.js';
import { registerDetectCommand } from './commands/detect.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerRatesCommand } from './commands/rates.js';
import { registerTopologyCommand } from './commands/topology.js';
import { ConfigError } from '../config/load.js';

const program = new Command()
  .name('costline')
  .description('Streaming cost and performance monitor for AI fleets')
  .option('-c, --config <file>', 'YAML or JSON config file (default: $COSTLINE_CONFIG)')
  .showHelpAfterError()
  .exitOverride();

registerStackCommands(program);
registerMigrateCommand(program);
registerRunCommand(program);
registerDemoCommand(program);
registerTailCommand(program);
registerSimulateCommand(program);
registerImportFocusCommand(program);
registerDetectCommand(program);
registerBenchCommand(program);
registerRatesCommand(program);
registerTopologyCommand(program);

try {
  await program.parseAsync(process.argv);
  // The command is done: client libraries' idle sockets and timers must not hold the process open.
  process.exit(process.exitCode ?? 0);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  if (error instanceof ConfigError) {
    process.stderr.write(`costline: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`costline: ${(error as Error).message}\n`);
  if (process.env.COSTLINE_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
}
