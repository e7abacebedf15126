import type { Command } from 'commander';
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The benchmarks print figures; they live beside the code in test/bench and run as their own processes. */
const BENCHMARKS: Record<string, { script: string; nodeArgs: string[]; what: string }> = {
  throughput: { script: 'test/bench/throughput.ts', nodeArgs: ['--expose-gc'], what: 'pipeline rate against the raw KafkaJS consume rate, memory per active series, rows per insert (needs the stack)' },
  stages: { script: 'test/bench/stages-cpu.ts', nodeArgs: ['--expose-gc'], what: 'CPU per token event of stage 1 and stage 2, stage by stage, on one thread (no services)' },
  detection: { script: 'test/bench/detection-quality.ts', nodeArgs: [], what: 'recall, precision and delay of the detectors on simulator ground truth (no services)' },
  nab: { script: 'test/bench/nab/run.ts', nodeArgs: [], what: 'NAB-style score on ../shared/data/nab (skips when absent)' },
};

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description(`run a benchmark and print its figures: ${Object.entries(BENCHMARKS).map(([name, b]) => `${name} (${b.what})`).join('; ')}`)
    .argument('<name>', Object.keys(BENCHMARKS).join(' | '))
    .argument('[args...]', 'passed to the benchmark, e.g. --events 200000')
    .allowUnknownOption()
    .action(async (name: string, args: string[]) => {
      const bench = BENCHMARKS[name];
      if (!bench) throw new Error(`unknown benchmark "${name}": use one of ${Object.keys(BENCHMARKS).join(', ')}`);
      const code = await new Promise<number>((done) => {
        const child = spawn(process.execPath, [...bench.nodeArgs, '--import', 'tsx', resolve(projectRoot, bench.script), ...args], { stdio: 'inherit', cwd: projectRoot });
        child.once('exit', (status) => done(status ?? 1));
      });
      process.exitCode = code;
    });
}
