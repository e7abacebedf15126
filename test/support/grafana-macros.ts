import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../deploy/stack/layout.js';

/**
 * What Grafana and the ClickHouse data source plugin (grafana-clickhouse-datasource 4.x) do to a
 * panel's SQL before ClickHouse sees it, for one fixed time range and fixed variable values, so a
 * test can run a dashboard's SQL against a real ClickHouse without a Grafana.
 *
 * Three passes, in Grafana's order:
 * 1. `$__conditionalAll(condition, $variable)`, expanded by the plugin's frontend
 *    (CHDatasource.applyConditionalAll): the condition, or `1=1` when the variable is "All" or empty.
 * 2. Template variables, by Grafana's templateSrv: `${name:singlequote}` quotes each value and
 *    escapes `'` as `\'` (Grafana's formatter; backslashes are not escaped); `$name` and `${name}`
 *    use the plugin's own formatter, which quotes the values of a multi-value variable without
 *    escaping anything. Names that are not variables are left as they are, as Grafana does.
 * 3. The plugin's backend macros (pkg/macros/macros.go, applied through grafana/sqlds):
 *    `$__timeFilter(col)` → `col >= toDateTime(from) AND col <= toDateTime(to)`,
 *    `$__fromTime` → `toDateTime(from)`, `$__toTime` → `toDateTime(to)` (Unix seconds, truncated),
 *    `$__interval_s` → the query interval in whole seconds, at least 1.
 *
 * Only these are implemented. Any other `$__macro` throws, on purpose: `$__timeInterval` expands to
 * toStartOfInterval (absent from ClickHouse 18.16) and the `_ms` macros to DateTime64 functions, so a
 * panel that needs them must first prove it runs on 18.16; add the macro here with the plugin's semantics.
 */

/** The value Grafana stores for a multi-value variable set to "All" (without a custom all value). */
export const ALL = '$__all';

export interface GrafanaQueryContext {
  /** The dashboard's time range, in milliseconds since the epoch. */
  fromMs: number;
  toMs: number;
  /** The query interval Grafana computed for the panel (`$__interval_s`). */
  intervalSeconds: number;
  /** Every dashboard variable's current values; `[ALL]` means "All" is selected. */
  variables: Readonly<Record<string, readonly string[]>>;
}

/** Grafana's `singlequote` format: each value in single quotes, `'` escaped as `\'`, joined by commas. */
export function singleQuoteFormat(values: readonly string[]): string {
  return values.map((value) => `'${value.replace(/'/g, "\\'")}'`).join(',');
}

/** The plugin's default formatter for a multi-value variable: quoted, joined, nothing escaped. */
function pluginDefaultFormat(values: readonly string[]): string {
  return `'${values.join("','")}'`;
}

function variableValues(context: GrafanaQueryContext, name: string, where: string): readonly string[] {
  const values = context.variables[name];
  if (values === undefined) {
    throw new Error(`${where} refers to dashboard variable "${name}", which the test context does not define. Fix: add "${name}" to the variables of the GrafanaQueryContext (and to the dashboard's templating list).`);
  }
  return values;
}

/**
 * The arguments of the macro call whose opening parenthesis is at `openIndex`, split on commas at
 * the first nesting level, with the index just past the closing parenthesis (the plugin's getMacroArgs).
 */
function macroArguments(sql: string, openIndex: number): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let argStart = openIndex + 1;
  for (let i = openIndex; i < sql.length; i++) {
    const char = sql[i];
    if (char === '(') depth++;
    else if (char === ')') depth--;
    if (char === ',' && depth === 1) {
      args.push(sql.slice(argStart, i));
      argStart = i + 1;
    }
    if (depth === 0) {
      args.push(sql.slice(argStart, i));
      return { args, end: i + 1 };
    }
  }
  throw new Error(`unbalanced parentheses after position ${openIndex} in: ${sql.slice(openIndex, openIndex + 80)}`);
}

const CONDITIONAL_ALL = '$__conditionalAll(';

function expandConditionalAll(sql: string, context: GrafanaQueryContext): string {
  let result = sql;
  // Innermost-last first, as the plugin does (lastIndexOf), so nested calls resolve inside out.
  for (let at = result.lastIndexOf(CONDITIONAL_ALL); at !== -1; at = result.lastIndexOf(CONDITIONAL_ALL)) {
    const { args, end } = macroArguments(result, at + CONDITIONAL_ALL.length - 1);
    if (args.length !== 2) throw new Error(`$__conditionalAll takes (condition, $variable); got ${args.length} arguments in: ${result.slice(at, end)}`);
    const [condition, variableArg] = args as [string, string];
    const name = /^\$\{?(\w+)\}?$/.exec(variableArg.trim())?.[1];
    if (name === undefined) throw new Error(`$__conditionalAll's second argument must be a variable such as $region; got "${variableArg.trim()}"`);
    const current = variableValues(context, name, '$__conditionalAll').join(',');
    const phrase = current === '' || current === ALL ? '1=1' : condition;
    result = result.slice(0, at) + phrase + result.slice(end);
  }
  return result;
}

// Grafana's variable syntaxes: $name, ${name}, ${name:format} ([[name]] is deprecated and unused here).
const VARIABLE = /\$\{(\w+)(?::(\w+))?\}|\$(\w+)/g;

function interpolateVariables(sql: string, context: GrafanaQueryContext): string {
  return sql.replace(VARIABLE, (match, bracedName: string | undefined, format: string | undefined, bareName: string | undefined) => {
    const name = (bracedName ?? bareName)!;
    if (!(name in context.variables)) return match;
    const values = variableValues(context, name, match);
    if (values.includes(ALL)) {
      throw new Error(`${match} is interpolated while "${name}" is set to All: Grafana would then list every option, which this expander does not know. Fix: wrap the condition in $__conditionalAll(..., $${name}), as the costline dashboards do.`);
    }
    if (format === undefined) return pluginDefaultFormat(values);
    if (format === 'singlequote') return singleQuoteFormat(values);
    throw new Error(`variable format "${format}" in ${match} is not implemented here. Fix: use \${${name}:singlequote}, or add the format with Grafana's semantics.`);
  });
}

const toDateTime = (ms: number) => `toDateTime(${Math.floor(ms / 1000)})`;

function expandBackendMacros(sql: string, context: GrafanaQueryContext): string {
  return sql.replace(/\$__(\w+)(?:\(([^()]*)\))?/g, (match, name: string, rawArgs: string | undefined) => {
    const args = rawArgs === undefined ? [] : rawArgs.split(',').map((a) => a.trim());
    switch (name) {
      case 'timeFilter': {
        if (args.length !== 1 || args[0] === '') throw new Error(`$__timeFilter takes one column; got "${match}"`);
        const column = args[0]!;
        return `${column} >= ${toDateTime(context.fromMs)} AND ${column} <= ${toDateTime(context.toMs)}`;
      }
      case 'fromTime':
        return toDateTime(context.fromMs);
      case 'toTime':
        return toDateTime(context.toMs);
      case 'interval_s':
        return String(Math.max(Math.trunc(context.intervalSeconds), 1));
      default:
        throw new Error(`macro $__${name} is not implemented by test/support/grafana-macros.ts. Fix: use $__timeFilter, $__fromTime, $__toTime or $__interval_s, or add $__${name} with the plugin's semantics after checking its expansion runs on ClickHouse 18.16.`);
    }
  });
}

/** A panel's SQL as ClickHouse would receive it from Grafana for this time range and these variable values. */
export function expandGrafanaSql(sql: string, context: GrafanaQueryContext): string {
  return expandBackendMacros(interpolateVariables(expandConditionalAll(sql, context), context), context);
}

// ---- The provisioned dashboards, as the tests read them ----

/** The folder Grafana's dashboard provider loads (deploy/grafana/provisioning/dashboards). */
export const dashboardsDir = join(projectRoot, 'deploy', 'grafana', 'dashboards');

export interface DataSourceRef {
  type?: string;
  uid?: string;
}

export interface PanelTarget {
  refId?: string;
  datasource?: DataSourceRef;
  editorType?: string;
  format?: number;
  rawSql?: string;
}

export interface Panel {
  id?: number;
  type?: string;
  title?: string;
  description?: string;
  datasource?: DataSourceRef;
  targets?: PanelTarget[];
  /** The panels of a collapsed row. */
  panels?: Panel[];
}

export interface QueryVariable {
  name: string;
  type: string;
  datasource?: DataSourceRef;
  multi?: boolean;
  includeAll?: boolean;
  query?: string | { rawSql?: string };
}

export interface Dashboard {
  uid?: string;
  title?: string;
  panels?: Panel[];
  templating?: { list?: QueryVariable[] };
}

export interface LoadedDashboard {
  file: string;
  dashboard: Dashboard;
}

/** Every dashboard JSON under deploy/grafana/dashboards (what the provider provisions). */
export function loadDashboards(dir: string = dashboardsDir): LoadedDashboard[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(dir, file), 'utf8')) as Dashboard }));
}

/** Every panel that shows data: rows are layout, their collapsed children count. */
export function dataPanels(dashboard: Dashboard): Panel[] {
  return (dashboard.panels ?? []).flatMap((panel) => (panel.type === 'row' ? (panel.panels ?? []) : [panel]));
}

export interface DashboardQuery {
  file: string;
  /** The panel's title, or `variable <name>`. */
  panelTitle: string;
  /** For test names: dashboard file, panel and query. */
  label: string;
  sql: string;
}

/** The SQL of every panel target and every query variable of a dashboard, unexpanded. */
export function dashboardQueries({ file, dashboard }: LoadedDashboard): DashboardQuery[] {
  const panelQueries = dataPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ file, panelTitle: panel.title ?? `panel ${panel.id}`, label: `${file}: panel "${panel.title}" query ${target.refId}`, sql: target.rawSql ?? '' })),
  );
  const variableQueries = (dashboard.templating?.list ?? [])
    .filter((variable) => variable.type === 'query')
    .map((variable) => ({
      file,
      panelTitle: `variable ${variable.name}`,
      label: `${file}: variable $${variable.name}`,
      sql: typeof variable.query === 'string' ? variable.query : (variable.query?.rawSql ?? ''),
    }));
  return [...panelQueries, ...variableQueries];
}
