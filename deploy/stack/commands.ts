import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export type Progress = (message: string) => void;

/**
 * Runs an install step to completion, its full output kept in logFile, and reports what
 * happens through `onLine` (so a long download shows progress instead of a silent wait).
 */
export function runStep(command: string, args: string[], options: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void }): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(options.logFile, { flags: 'a' });
    log.write(`\n$ ${command} ${args.join(' ')}\n`);
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) options.onLine?.(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (error) => {
      log.end();
      reject(new Error(`could not run ${command}: ${error.message}`));
    });
    child.once('close', (code) => {
      log.end();
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} exited with code ${code}; its output is in ${options.logFile}`));
    });
  });
}

/** Reports Maven's downloads as a running count instead of one line per artifact. */
export function mavenProgress(service: string, progress: Progress): (line: string) => void {
  let files = 0;
  let bytes = 0;
  let lastReport = 0;
  return (line) => {
    const match = /Downloaded from \S+: \S+ \(([\d.]+) (B|kB|MB)/.exec(line);
    if (!match) return;
    files += 1;
    const unit = match[2] === 'MB' ? 1e6 : match[2] === 'kB' ? 1e3 : 1;
    bytes += Number(match[1]) * unit;
    const now = Date.now();
    if (now - lastReport > 2000) {
      lastReport = now;
      progress(`${service}: downloaded ${files} files (${(bytes / 1e6).toFixed(1)} MB) from Maven Central so far`);
    }
  };
}
