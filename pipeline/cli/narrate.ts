/**
 * Terminal narration for the commands a person watches (stack, demo, simulate): short lines
 * with the elapsed time, symbols and colour on a terminal, plain text in a log or CI.
 */
export interface Narrator {
  step(message: string): void;
  detail(message: string): void;
  done(message: string): void;
  warn(message: string): void;
  headline(message: string): void;
}

export function narrator(stream: NodeJS.WriteStream = process.stdout): Narrator {
  const colour = stream.isTTY === true && !process.env.NO_COLOR;
  const paint = (code: string, text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const started = Date.now();
  const clock = () => paint('2', `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s]`);
  const write = (symbol: string, message: string) => stream.write(`${clock()} ${symbol} ${message}\n`);
  return {
    step: (m) => write(paint('36', '›'), m),
    detail: (m) => write(' ', paint('2', m)),
    done: (m) => write(paint('32', '✔'), m),
    warn: (m) => write(paint('33', '!'), m),
    headline: (m) => stream.write(`\n${paint('1', m)}\n`),
  };
}
