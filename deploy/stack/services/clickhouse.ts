import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { runStep, type Progress } from '../commands.js';
import { HOST, type StackPorts } from '../layout.js';
import { startDetached } from '../processes.js';
import type { LocalService } from './service.js';

function findServerBinary(): string | undefined {
  for (const candidate of ['/usr/bin/clickhouse-server', '/usr/sbin/clickhouse-server', '/usr/bin/clickhouse']) {
    if (existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v clickhouse-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** ClickHouse server from the machine's package, run with its own config and data under the stack folder. */
export function clickhouseService(dir: string, ports: StackPorts): LocalService {
  const home = join(dir, 'clickhouse');
  const logFile = join(home, 'log', 'clickhouse-server.log');
  const configFile = join(home, 'config.xml');

  const writeConfig = () => {
    for (const sub of ['log', 'data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(join(home, sub), { recursive: true });
    // Tags are the ones 18.16 knows; current releases accept the same file (the <yandex> root is still read).
    writeFileSync(
      configFile,
      `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>${logFile}</log>
    <errorlog>${join(home, 'log', 'clickhouse-server.err.log')}</errorlog>
    <size>100M</size>
    <count>3</count>
  </logger>
  <listen_host>${HOST}</listen_host>
  <http_port>${ports.clickhouseHttp}</http_port>
  <tcp_port>${ports.clickhouseTcp}</tcp_port>
  <max_connections>256</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <mark_cache_size>268435456</mark_cache_size>
  <path>${join(home, 'data')}/</path>
  <tmp_path>${join(home, 'tmp')}/</tmp_path>
  <user_files_path>${join(home, 'user_files')}/</user_files_path>
  <format_schema_path>${join(home, 'format_schemas')}/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
</yandex>
`,
    );
    writeFileSync(
      join(home, 'users.xml'),
      `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`,
    );
  };

  return {
    name: 'clickhouse',
    logFile,
    pidFile: join(home, 'clickhouse.pid'),
    ports: [ports.clickhouseHttp, ports.clickhouseTcp],
    hint: 'read the error log beside it; set COSTLINE_STACK_CLICKHOUSE_HTTP_PORT / _TCP_PORT to move it',
    startTimeoutMs: 60_000,
    endpoint: () => `http://${HOST}:${ports.clickhouseHttp}`,

    async install(progress: Progress) {
      mkdirSync(home, { recursive: true });
      if (findServerBinary()) return;
      if (process.getuid?.() !== 0) {
        throw new Error('clickhouse: the clickhouse-server package is not installed and this user cannot install it. Fix: run `sudo apt-get update && sudo apt-get install -y clickhouse-server clickhouse-client`, then `costline stack up` again.');
      }
      progress("clickhouse: installing Debian's clickhouse-server package (first run only)");
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      const onLine = (line: string) => {
        if (/^(Get:|Unpacking|Setting up)/.test(line)) progress(`clickhouse: ${line.trim().slice(0, 120)}`);
      };
      const installLog = join(home, 'install.log');
      await runStep('apt-get', ['update', '-q'], { logFile: installLog, env });
      await runStep('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'clickhouse-server', 'clickhouse-client'], { logFile: installLog, env, onLine });
      if (!findServerBinary()) throw new Error(`clickhouse: apt-get finished but no clickhouse-server binary is on this machine; see ${installLog}`);
    },

    async start() {
      writeConfig();
      const binary = findServerBinary();
      if (!binary) throw new Error('clickhouse: clickhouse-server is not installed');
      const args = binary.endsWith('/clickhouse') ? ['server', `--config-file=${configFile}`] : [`--config-file=${configFile}`];
      return startDetached(binary, args, { logFile: join(home, 'log', 'stdout.log'), pidFile: join(home, 'clickhouse.pid'), cwd: home });
    },

    async healthy() {
      const response = await fetch(`http://${HOST}:${ports.clickhouseHttp}/ping`, { signal: AbortSignal.timeout(1000) });
      return response.ok && (await response.text()).startsWith('Ok');
    },
  };
}
