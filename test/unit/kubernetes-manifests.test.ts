import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { projectRoot } from '../../deploy/stack/layout.js';
import { loadConfig } from '../../pipeline/config/load.js';

/**
 * No cluster runs here, so the Kubernetes manifests are checked for what would break a rollout:
 * files that parse and are all applied, selectors that match, a configuration that the pipeline
 * accepts once the Deployment's environment and secret files are laid over it, probes on the
 * endpoints costline serves, and a replica count the input partitions can feed.
 */

const dir = join(projectRoot, 'deploy', 'kubernetes');
const read = (file: string) => parseYaml(readFileSync(join(dir, file), 'utf8')) as unknown;

const labels = z.record(z.string(), z.string());
const probe = z.object({ httpGet: z.object({ path: z.string(), port: z.string() }) });
const envVar = z.object({ name: z.string(), value: z.string() });
const deploymentSchema = z.object({
  kind: z.literal('Deployment'),
  spec: z.object({
    replicas: z.number().int().min(1),
    selector: z.object({ matchLabels: labels }),
    template: z.object({
      metadata: z.object({ labels, annotations: labels }),
      spec: z.object({
        terminationGracePeriodSeconds: z.number(),
        containers: z.array(
          z.object({
            name: z.string(),
            image: z.string(),
            workingDir: z.string(),
            command: z.array(z.string()),
            ports: z.array(z.object({ name: z.string(), containerPort: z.number() })),
            env: z.array(envVar),
            startupProbe: probe,
            livenessProbe: probe,
            readinessProbe: probe,
            volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string() })),
          }),
        ).length(1),
        volumes: z.array(z.object({ name: z.string(), configMap: z.object({ name: z.string() }).optional(), secret: z.object({ secretName: z.string() }).optional() })),
      }),
    }),
  }),
});
const configMapSchema = z.object({ kind: z.literal('ConfigMap'), metadata: z.object({ name: z.string() }), data: z.record(z.string(), z.string()) });
const serviceSchema = z.object({ kind: z.literal('Service'), metadata: z.object({ annotations: labels }), spec: z.object({ selector: labels, ports: z.array(z.object({ name: z.string(), port: z.number(), targetPort: z.string() })) }) });
const budgetSchema = z.object({ kind: z.literal('PodDisruptionBudget'), spec: z.object({ maxUnavailable: z.number(), selector: z.object({ matchLabels: labels }) }) });
const kustomizationSchema = z.object({ resources: z.array(z.string()), images: z.array(z.object({ name: z.string() })) });

const kustomization = kustomizationSchema.parse(read('kustomization.yaml'));
const deployment = deploymentSchema.parse(read('deployment.yaml'));
const configMap = configMapSchema.parse(read('configmap.yaml'));
const service = serviceSchema.parse(read('service.yaml'));
const budget = budgetSchema.parse(read('pod-disruption-budget.yaml'));
const pod = deployment.spec.template;
const container = pod.spec.containers[0]!;
const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));

const matches = (selector: Record<string, string>, podLabels: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);

/** Where the pod mounts a volume, by the volume's kind and name. */
function mountOf(kind: 'configMap' | 'secret', name: string): string {
  const volume = pod.spec.volumes.find((v) => (kind === 'configMap' ? v.configMap?.name : v.secret?.secretName) === name);
  if (!volume) throw new Error(`the pod has no ${kind} volume named ${name}`);
  const mount = container.volumeMounts.find((m) => m.name === volume.name);
  if (!mount) throw new Error(`volume ${volume.name} is not mounted`);
  return mount.mountPath;
}

/** The configuration an instance starts with: the ConfigMap's file under the Deployment's environment, secret files filled in. */
function podConfig() {
  const root = mkdtempSync(join(tmpdir(), 'costline-k8s-'));
  const localPath = (podPath: string) => join(root, ...podPath.split('/').filter(Boolean));
  const configPath = env.COSTLINE_CONFIG!;
  const configKey = posix.relative(mountOf('configMap', configMap.metadata.name), configPath);
  expect(configMap.data, `COSTLINE_CONFIG names ${configPath}, which the ConfigMap does not hold`).toHaveProperty([configKey]);
  const files: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (name.endsWith('_FILE')) files[name] = localPath(value);
  for (const [name, path] of Object.entries(files)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `secret-of-${name}`);
  }
  const file = join(root, 'costline.yaml');
  writeFileSync(file, configMap.data[configKey]!);
  return loadConfig({ file, env: { ...env, ...files, COSTLINE_CONFIG: file } });
}

describe('the Kubernetes manifests (deploy/kubernetes)', () => {
  it('applies every manifest in the folder, and each parses', () => {
    const manifests = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(manifests.sort());
    expect(kustomization.images.map((i) => i.name)).toContain(container.image);
  });

  it('selects the pipeline pods in the Deployment, the metrics Service and the disruption budget', () => {
    expect(matches(deployment.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
    expect(matches(service.spec.selector, pod.metadata.labels)).toBe(true);
    expect(matches(budget.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
    expect(budget.spec.maxUnavailable).toBeLessThan(deployment.spec.replicas);
  });

  it('gives the pipeline a configuration it accepts, with endpoints from the environment and secrets from files', () => {
    const config = podConfig();
    expect(config.kafka.brokers).toEqual([env.KAFKA_BROKERS]);
    expect(config.schemaRegistry.url).toBe(env.SCHEMA_REGISTRY_URL);
    expect(config.clickhouse.url).toBe(env.CLICKHOUSE_URL);
    expect(config.clickhouse.password).toBe('secret-of-CLICKHOUSE_PASSWORD_FILE');
    expect(existsSync(join(projectRoot, config.playbook.file)), `playbook ${config.playbook.file} is not in the image`).toBe(true);
  });

  it('keeps every secret out of the manifest: password variables name files on the secret volume', () => {
    const secretMount = mountOf('secret', 'costline-credentials');
    for (const name of Object.keys(env).filter((n) => /PASSWORD/.test(n))) {
      expect(name, `${name} would put a secret in the manifest; use ${name}_FILE`).toMatch(/_FILE$/);
      expect(env[name]!.startsWith(`${secretMount}/`)).toBe(true);
    }
  });

  it('probes the endpoints costline serves, on the port it listens on, and exposes that port for scraping', () => {
    const port = container.ports.find((p) => p.name === 'metrics');
    expect(port?.containerPort).toBe(podConfig().observability.metricsPort);
    expect([container.startupProbe, container.livenessProbe, container.readinessProbe].map((p) => [p.httpGet.path, p.httpGet.port])).toEqual([
      ['/healthz', 'metrics'],
      ['/healthz', 'metrics'],
      ['/readyz', 'metrics'],
    ]);
    expect(service.spec.ports).toEqual([{ name: 'metrics', port: port!.containerPort, targetPort: 'metrics' }]);
    expect(pod.metadata.annotations['prometheus.io/port']).toBe(String(port!.containerPort));
  });

  it('runs the costline bin with node as PID 1, so SIGTERM reaches its graceful shutdown', () => {
    expect(container.command[0]).toBe('node');
    expect(container.workingDir).toBe('/app');
    expect(readFileSync(join(projectRoot, 'deploy', 'compose', 'Dockerfile'), 'utf8')).toMatch(/^WORKDIR \/app$/m);
    expect(existsSync(join(projectRoot, container.command[1]!))).toBe(true);
    expect(container.command.slice(2)).toEqual(['run']);
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
  });

  it('runs no more instances than the input partitions can feed', () => {
    expect(deployment.spec.replicas).toBeLessThanOrEqual(podConfig().kafka.partitions);
  });
});
