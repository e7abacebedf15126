import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { projectRoot, stackPorts } from '../../deploy/stack/layout.js';
import { loadConfig } from '../../pipeline/config/load.js';
import { migrations } from '../../sinks/clickhouse/index.js';
import { ALL, dashboardQueries, dataPanels, dashboardsDir, expandGrafanaSql, loadDashboards, singleQuoteFormat, type GrafanaQueryContext } from '../support/grafana-macros.js';

/**
 * The Docker Compose stack and the Grafana provisioning cannot run here (no Docker engine), so
 * their files are checked for what would break them: YAML that parses, ports and endpoints that
 * agree with the local stack and the config defaults, healthchecks behind every depends_on, and
 * dashboards whose SQL reads the rollups correctly on ClickHouse 18.16 and current releases.
 * test/integration/grafana-panels.test.ts runs the same SQL against the real ClickHouse.
 */

const composeDir = join(projectRoot, 'deploy', 'compose');
const grafanaDir = join(projectRoot, 'deploy', 'grafana');

const serviceSchema = z.object({
  image: z.string().optional(),
  build: z.object({ context: z.string(), dockerfile: z.string() }).optional(),
  ports: z.array(z.string()).default([]),
  environment: z.record(z.string(), z.string()).default({}),
  depends_on: z.record(z.string(), z.object({ condition: z.string() })).default({}),
  healthcheck: z.object({ test: z.array(z.string()).min(2) }).optional(),
  volumes: z.array(z.string()).default([]),
});
const composeSchema = z.object({ services: z.record(z.string(), serviceSchema) });
type ComposeService = z.infer<typeof serviceSchema>;

const compose = composeSchema.parse(parseYaml(readFileSync(join(composeDir, 'docker-compose.yml'), 'utf8')));

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

/** "127.0.0.1:19092:19092" as its parts. */
function published(port: string): { hostIp: string; hostPort: number; containerPort: number } {
  const match = /^(\d+\.\d+\.\d+\.\d+):(\d+):(\d+)$/.exec(port);
  if (!match) throw new Error(`port "${port}" is not HOST_IP:HOST_PORT:CONTAINER_PORT; bind to 127.0.0.1 explicitly`);
  return { hostIp: match[1]!, hostPort: Number(match[2]), containerPort: Number(match[3]) };
}

const portOfUrl = (url: string) => Number(new URL(url).port);
const defaults = loadConfig({ env: {} });
const localStack = stackPorts({});

describe('the Docker Compose stack (deploy/compose/docker-compose.yml)', () => {
  it('defines Kafka, the Schema Registry, ClickHouse, Grafana and the costline pipeline', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['clickhouse', 'costline', 'grafana', 'kafka', 'schema-registry']);
  });

  it('pins the images: Kafka 3.9.1, a Confluent Schema Registry 7.x, ClickHouse 25.8 LTS, a Grafana release', () => {
    expect(service('kafka').image).toBe('apache/kafka:3.9.1');
    expect(service('schema-registry').image).toMatch(/^confluentinc\/cp-schema-registry:7\.\d+\.\d+$/);
    expect(service('clickhouse').image).toBe('clickhouse/clickhouse-server:25.8');
    expect(service('grafana').image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
  });

  it('publishes Kafka, the registry and ClickHouse on the local stack ports, on 127.0.0.1 only', () => {
    const hostPorts = (name: string) => service(name).ports.map(published);
    expect(hostPorts('kafka')).toContainEqual({ hostIp: '127.0.0.1', hostPort: localStack.kafka, containerPort: localStack.kafka });
    expect(hostPorts('schema-registry').map((p) => [p.hostIp, p.hostPort])).toEqual([['127.0.0.1', localStack.registry]]);
    expect(hostPorts('clickhouse').map((p) => [p.hostIp, p.hostPort])).toEqual([['127.0.0.1', localStack.clickhouseHttp]]);
    for (const s of Object.values(compose.services)) for (const port of s.ports) expect(published(port).hostIp).toBe('127.0.0.1');
  });

  it('answers the config defaults from the host: the broker, registry and ClickHouse ports match', () => {
    const kafka = service('kafka').environment;
    expect(kafka.KAFKA_ADVERTISED_LISTENERS!.split(',')).toContain(`HOST://${defaults.kafka.brokers[0]}`);
    expect(portOfUrl(defaults.schemaRegistry.url)).toBe(published(service('schema-registry').ports[0]!).hostPort);
    expect(portOfUrl(defaults.clickhouse.url)).toBe(published(service('clickhouse').ports[0]!).hostPort);
  });

  it("points the costline service at the other containers' internal endpoints", () => {
    const env = service('costline').environment;
    const internalListener = service('kafka')
      .environment.KAFKA_ADVERTISED_LISTENERS!.split(',')
      .find((l) => l.startsWith('INTERNAL://'));
    expect(`INTERNAL://${env.KAFKA_BROKERS}`).toBe(internalListener);
    const registryPort = published(service('schema-registry').ports[0]!).containerPort;
    // Confluent serves the API at the root; /apis/ccompat/v7 is Apicurio's (the local stack's) path.
    expect(env.SCHEMA_REGISTRY_URL).toBe(`http://schema-registry:${registryPort}`);
    expect(env.CLICKHOUSE_URL).toBe(`http://clickhouse:${published(service('clickhouse').ports[0]!).containerPort}`);
  });

  it('gives the costline service an environment its config loader accepts', () => {
    const config = loadConfig({ env: service('costline').environment });
    expect(config.kafka.brokers).toEqual(['kafka:29092']);
    expect(config.clickhouse.database).toBe('costline');
    expect(config.observability.metricsPort).toBe(published(service('costline').ports[0]!).containerPort);
  });

  it('starts a service only after what it depends on is healthy, and every service has a healthcheck', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.healthcheck, `${name} has no healthcheck`).toBeDefined();
      for (const [dependency, { condition }] of Object.entries(s.depends_on)) {
        expect(condition, `${name} depends on ${dependency}`).toBe('service_healthy');
        expect(compose.services[dependency], `${name} depends on unknown service ${dependency}`).toBeDefined();
      }
    }
    expect(Object.keys(service('costline').depends_on).sort()).toEqual(['clickhouse', 'kafka', 'schema-registry']);
  });

  it('builds costline from this checkout with npm ci and runs `npx costline run` on Node 20', () => {
    const build = service('costline').build!;
    expect(resolve(composeDir, build.context)).toBe(projectRoot);
    const dockerfile = readFileSync(resolve(composeDir, build.context, build.dockerfile), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20\b/m);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^CMD \["npx", ("--no", )?"costline", "run"\]$/m);
    // The build context is the repository root: the ignore file keeps node_modules and .stack out of it.
    const ignored = readFileSync(resolve(composeDir, `${build.dockerfile.split('/').pop()}.dockerignore`), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.stack', '.git']));
  });

  it('installs the ClickHouse plugin in Grafana and mounts the provisioning and dashboards folders', () => {
    const grafana = service('grafana');
    const plugins = `${grafana.environment.GF_PLUGINS_PREINSTALL_SYNC ?? ''},${grafana.environment.GF_INSTALL_PLUGINS ?? ''}`.split(',');
    expect(plugins).toContain('grafana-clickhouse-datasource');
    const mounts = new Map(grafana.volumes.map((v) => v.split(':')).map(([source, target]) => [target!, source!]));
    expect(resolve(composeDir, mounts.get('/etc/grafana/provisioning')!)).toBe(join(grafanaDir, 'provisioning'));
    const provider = z
      .object({ providers: z.array(z.object({ options: z.object({ path: z.string() }) })).length(1) })
      .parse(parseYaml(readFileSync(join(grafanaDir, 'provisioning', 'dashboards', 'costline.yaml'), 'utf8')));
    expect(resolve(composeDir, mounts.get(provider.providers[0]!.options.path)!)).toBe(dashboardsDir);
  });
});

const datasourceFile = z
  .object({
    datasources: z.array(
      z.object({
        uid: z.string(),
        type: z.string(),
        jsonData: z.object({ host: z.string(), port: z.number(), protocol: z.string(), username: z.string(), defaultDatabase: z.string() }),
        secureJsonData: z.object({ password: z.string() }),
      }),
    ),
  })
  .parse(parseYaml(readFileSync(join(grafanaDir, 'provisioning', 'datasources', 'clickhouse.yaml'), 'utf8')));
const clickhouseDatasource = datasourceFile.datasources.find((d) => d.type === 'grafana-clickhouse-datasource')!;

describe('the Grafana data source (deploy/grafana/provisioning/datasources)', () => {
  it('is the official ClickHouse plugin, on the Compose ClickHouse, database costline', () => {
    expect(clickhouseDatasource).toBeDefined();
    const clickhousePort = published(service('clickhouse').ports[0]!).containerPort;
    expect(clickhouseDatasource.jsonData).toMatchObject({ host: 'clickhouse', port: clickhousePort, protocol: 'http', defaultDatabase: 'costline' });
  });

  it("logs in with the same ClickHouse credentials as the costline service, read from Grafana's environment", () => {
    expect(clickhouseDatasource.jsonData.username).toBe('${CLICKHOUSE_USER}');
    expect(clickhouseDatasource.secureJsonData.password).toBe('${CLICKHOUSE_PASSWORD}');
    const grafana = service('grafana').environment;
    const costline = service('costline').environment;
    expect([grafana.CLICKHOUSE_USER, grafana.CLICKHOUSE_PASSWORD]).toEqual([costline.CLICKHOUSE_USER, costline.CLICKHOUSE_PASSWORD]);
  });
});

/** Tables the migrations leave in database `costline`, with their engine (a later DROP removes one). */
function migratedTables(): Map<string, string> {
  const tables = new Map<string, string>();
  for (const statement of migrations.flatMap((m) => m.statements('costline'))) {
    const created = /^CREATE TABLE IF NOT EXISTS costline\.(\w+)[\s\S]*?\)\s*ENGINE\s*=\s*(\w+)/.exec(statement);
    if (created) tables.set(created[1]!, created[2]!);
    const dropped = /^DROP TABLE IF EXISTS costline\.(\w+)/.exec(statement);
    if (dropped) tables.delete(dropped[1]!);
  }
  return tables;
}

const tables = migratedTables();
const dashboards = loadDashboards();
const panels = dashboards.flatMap(({ file, dashboard }) => dataPanels(dashboard).map((panel) => ({ file, panel })));
const queries = dashboards.flatMap(dashboardQueries);
/** `FROM x`, `JOIN x`: the tables a query reads (subqueries start with a parenthesis and are skipped). */
const tablesRead = (sql: string) => [...sql.matchAll(/\b(?:FROM|JOIN)\s+([A-Za-z_][\w.]*)/gi)].map((m) => m[1]!);

describe('the Grafana dashboards (deploy/grafana/dashboards)', () => {
  it('has the costline overview, with a uid, a title and unique panel ids per dashboard', () => {
    expect(dashboards.map((d) => d.file)).toContain('costline-overview.json');
    for (const { file, dashboard } of dashboards) {
      expect(dashboard.uid, file).toMatch(/^[\w-]{1,40}$/);
      expect(dashboard.title, file).toBeTruthy();
      const ids = (dashboard.panels ?? []).flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => p.id);
      expect(new Set(ids).size, `${file} has duplicate panel ids`).toBe(ids.length);
    }
  });

  it.each(panels.map(({ file, panel }) => [`${file}: ${panel.title ?? `panel ${panel.id}`}`, panel] as const))('%s has a title, the ClickHouse data source and SQL', (_name, panel) => {
    expect(panel.title).toBeTruthy();
    expect(panel.datasource).toEqual({ type: 'grafana-clickhouse-datasource', uid: clickhouseDatasource.uid });
    expect(panel.targets?.length).toBeGreaterThan(0);
    for (const target of panel.targets ?? []) {
      expect(target.datasource).toEqual(panel.datasource);
      expect(target.rawSql?.trim()).toBeTruthy();
    }
  });

  it.each(queries.map((q) => [q.label, q.sql] as const))('%s reads only migrated costline tables, ReplacingMergeTree ones with FINAL or argMax', (_label, sql) => {
    const read = tablesRead(sql);
    expect(read.length).toBeGreaterThan(0);
    for (const table of read) {
      expect(table, 'tables are named costline.<table>; the test rewrites costline. to its own database').toMatch(/^costline\.\w+$/);
      const name = table.slice('costline.'.length);
      expect(tables.has(name), `${table} is not created by sinks/clickhouse/migrations.ts`).toBe(true);
    }
    // Variable queries list key values (DISTINCT of sorting-key columns), which replacing does not change.
    if (/^SELECT DISTINCT \w+\n/.test(sql)) return;
    for (const table of read.filter((t) => tables.get(t.slice('costline.'.length)) === 'ReplacingMergeTree')) {
      const final = new RegExp(`\\b${table.replace('.', '\\.')}\\s+FINAL\\b`).test(sql);
      expect(final || /\bargMax\(/.test(sql), `${table} is a ReplacingMergeTree: read it with FINAL or argMax(column, version)`).toBe(true);
    }
  });

  it.each(queries.map((q) => [q.label, q.sql] as const))('%s uses nothing ClickHouse 18.16 lacks, once Grafana has expanded it', (_label, sql) => {
    const selected: GrafanaQueryContext = { fromMs: 0, toMs: 3_600_000, intervalSeconds: 60, variables: { model_name: ['m'], model_version: ['v'], region: ['r'] } };
    const all: GrafanaQueryContext = { ...selected, variables: { model_name: [ALL], model_version: [ALL], region: [ALL] } };
    for (const expanded of [expandGrafanaSql(sql, selected), expandGrafanaSql(sql, all)]) {
      // toStartOfInterval is also what $__timeInterval expands to; {name:Type} is a query parameter;
      // a $ left over is a macro or variable Grafana would not have expanded.
      for (const unsupported of [/toStartOfInterval/i, /\{\w+:\w+\}/, /DateTime64|fromUnixTimestamp64/i, /LowCardinality/i, /\bMap\(/, /\$/]) {
        expect(expanded).not.toMatch(unsupported);
      }
    }
  });

  // Every panel follows the variables, except owner spend, which has no model or region to filter by.
  it.each(queries.filter((q) => !q.panelTitle.startsWith('variable') && !q.sql.includes('owner_spend_1m')).map((q) => [q.label, q.sql] as const))('%s follows the model, version and region variables', (_label, sql) => {
    for (const variable of ['model_name', 'model_version', 'region']) {
      expect(sql).toContain(`$__conditionalAll(`);
      expect(sql).toContain(`\${${variable}:singlequote}), $${variable})`);
    }
  });

  it('says so on every panel that does not follow the model variables', () => {
    const unfiltered = queries.filter((q) => !q.panelTitle.startsWith('variable') && q.sql.includes('owner_spend_1m'));
    expect(unfiltered.map((q) => q.panelTitle)).toEqual(['Spend per hour by team', 'Spend by team, experiment and environment']);
    for (const { dashboard } of dashboards) {
      for (const panel of dashboard.panels ?? []) {
        if (unfiltered.some((q) => q.panelTitle === panel.title)) expect(panel.description).toContain('Not filtered by the model variables');
      }
    }
  });

  it('offers model, model version and region as multi-select variables with All', () => {
    for (const { dashboard } of dashboards) {
      const variables = dashboard.templating?.list ?? [];
      for (const name of ['model_name', 'model_version', 'region']) {
        expect(variables.find((v) => v.name === name)).toMatchObject({ type: 'query', multi: true, includeAll: true, datasource: { uid: clickhouseDatasource.uid } });
      }
    }
  });
});

describe('Grafana macro expansion (test/support/grafana-macros.ts), as the ClickHouse plugin does it', () => {
  const context: GrafanaQueryContext = { fromMs: 1_772_445_600_999, toMs: 1_772_448_300_000, intervalSeconds: 300, variables: { region: ['us-east-1', "o'brien"], team: [ALL] } };

  it('turns $__timeFilter into a closed range in whole Unix seconds', () => {
    expect(expandGrafanaSql('WHERE $__timeFilter(window_start)', context)).toBe('WHERE window_start >= toDateTime(1772445600) AND window_start <= toDateTime(1772448300)');
  });

  it('turns $__fromTime, $__toTime and $__interval_s into their values', () => {
    expect(expandGrafanaSql('$__fromTime $__toTime $__interval_s', context)).toBe('toDateTime(1772445600) toDateTime(1772448300) 300');
  });

  it('drops a $__conditionalAll condition to 1=1 when its variable is All', () => {
    expect(expandGrafanaSql('WHERE $__conditionalAll(team IN (${team:singlequote}), $team)', context)).toBe('WHERE 1=1');
  });

  it('keeps the condition and quotes the selected values, escaping quotes, when some are selected', () => {
    expect(expandGrafanaSql('WHERE $__conditionalAll(region IN (${region:singlequote}), $region)', context)).toBe("WHERE region IN ('us-east-1','o\\'brien')");
    expect(singleQuoteFormat(["a'b"])).toBe("'a\\'b'");
  });

  it('refuses a macro it does not implement, naming it', () => {
    expect(() => expandGrafanaSql('SELECT $__timeInterval(window_start)', context)).toThrow(/\$__timeInterval/);
  });

  it('refuses a variable the context does not define inside $__conditionalAll', () => {
    expect(() => expandGrafanaSql('$__conditionalAll(x IN (${model:singlequote}), $model)', context)).toThrow(/"model"/);
  });

  it('leaves unknown $names alone, as Grafana does', () => {
    expect(expandGrafanaSql("SELECT '$notAVariable'", context)).toBe("SELECT '$notAVariable'");
  });
});
