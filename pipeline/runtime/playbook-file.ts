import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The playbook's text and path: relative paths from the working directory, else from the project (the shipped default). */
export function readPlaybookFile(file: string): [text: string, source: string] {
  const candidates = isAbsolute(file) ? [file] : [resolve(file), resolve(projectRoot, file)];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`playbook file ${file} does not exist (looked at ${candidates.join(', ')}). Fix: set playbook.file to your playbook, or playbook.enabled: false`);
  return [readFileSync(found, 'utf8'), found];
}
