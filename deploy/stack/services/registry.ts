import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { mavenProgress, runStep, type Progress } from '../commands.js';
import { HOST, projectRoot, type StackPorts } from '../layout.js';
import { startDetached } from '../processes.js';
import type { LocalService } from './service.js';

const APICURIO_VERSION = '3.3.3';
const MIN_JAVA = 21;

function parseMajor(text: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(text);
  if (!match) return undefined;
  const first = Number(match[1]);
  return first === 1 ? Number(match[2]) : first;
}

/** The major version of a java binary (`java -version` prints on stderr). */
function javaVersionOf(java: string): number | undefined {
  try {
    return parseMajor(execFileSync('sh', ['-c', '"$0" -version 2>&1', java], { encoding: 'utf8' }));
  } catch {
    return undefined;
  }
}

/** A Java runtime new enough for Apicurio Registry 3 (21+): $COSTLINE_REGISTRY_JAVA, $JAVA_HOME, PATH, then /usr/lib/jvm. */
export function findRegistryJava(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [env.COSTLINE_REGISTRY_JAVA, env.JAVA_HOME ? join(env.JAVA_HOME, 'bin', 'java') : undefined, 'java'];
  if (existsSync('/usr/lib/jvm')) {
    for (const dir of readdirSync('/usr/lib/jvm').sort().reverse()) candidates.push(join('/usr/lib/jvm', dir, 'bin', 'java'));
  }
  for (const candidate of candidates) {
    if (!candidate || (candidate !== 'java' && !existsSync(candidate))) continue;
    const major = javaVersionOf(candidate);
    if (major !== undefined && major >= MIN_JAVA) return candidate;
  }
  return undefined;
}

/**
 * Apicurio Registry (third party, Apache-2.0) serving the Confluent Schema Registry API under
 * /apis/ccompat/v7, from its own distribution on Maven Central. In-memory storage: subjects
 * live as long as the process, like the rest of the local stack's test data.
 */
export function registryService(dir: string, ports: StackPorts): LocalService {
  const home = join(dir, 'registry');
  const appDir = join(home, `apicurio-${APICURIO_VERSION}`);
  const managementPort = ports.registry + 1000;
  return {
    name: 'schema-registry',
    logFile: join(home, 'registry.log'),
    pidFile: join(home, 'registry.pid'),
    ports: [ports.registry, managementPort],
    hint: `Apicurio Registry ${APICURIO_VERSION} needs Java ${MIN_JAVA}+ (set COSTLINE_REGISTRY_JAVA to its java binary); set COSTLINE_STACK_REGISTRY_PORT to move it`,
    startTimeoutMs: 60_000,
    endpoint: () => `http://${HOST}:${ports.registry}/apis/ccompat/v7`,

    async install(progress: Progress) {
      mkdirSync(home, { recursive: true });
      if (existsSync(join(appDir, 'quarkus-run.jar'))) return;
      progress(`schema-registry: installing Apicurio Registry ${APICURIO_VERSION} from Maven Central (first run only, ~150 MB)`);
      await runStep('mvn', ['-B', '-f', join(projectRoot, 'deploy/stack/registry/pom.xml'), `-Dapicurio.version=${APICURIO_VERSION}`, `-Dregistry.dir=${appDir}`, 'package'], {
        logFile: join(home, 'install.log'),
        onLine: mavenProgress('schema-registry', progress),
      });
      if (!existsSync(join(appDir, 'quarkus-run.jar'))) throw new Error(`the download finished but ${appDir}/quarkus-run.jar is missing; see ${join(home, 'install.log')}`);
    },

    async start() {
      const java = findRegistryJava();
      if (!java) throw new Error(`no Java ${MIN_JAVA}+ runtime found (looked at $COSTLINE_REGISTRY_JAVA, $JAVA_HOME, PATH and /usr/lib/jvm)`);
      const args = [
        '-Xmx256m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        `-Dquarkus.http.host=${HOST}`,
        `-Dquarkus.http.port=${ports.registry}`,
        // Apicurio turns on Quarkus' management interface (health) on its own port, 0.0.0.0 by default.
        `-Dquarkus.management.host=${HOST}`,
        `-Dquarkus.management.port=${managementPort}`,
        // The Confluent default: a subject with no config of its own still refuses incompatible changes.
        '-Dapicurio.rules.global.compatibility=BACKWARD',
        '-Dquarkus.log.console.enabled=false',
        '-Dquarkus.log.file.enabled=true',
        `-Dquarkus.log.file.path=${join(home, 'registry.log')}`,
        '-Dquarkus.log.file.json.enabled=false',
        '-jar',
        join(appDir, 'quarkus-run.jar'),
      ];
      return startDetached(java, args, { logFile: join(home, 'stdout.log'), pidFile: join(home, 'registry.pid'), cwd: home });
    },

    // Functional, not /health/ready: Apicurio reports itself not ready for minutes after a burst of
    // slow responses, while it serves requests perfectly well.
    async healthy() {
      const response = await fetch(`http://${HOST}:${ports.registry}/apis/ccompat/v7/subjects`, { signal: AbortSignal.timeout(2000) });
      return response.ok;
    },
  };
}
