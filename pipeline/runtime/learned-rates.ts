import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import type { CostlineConfig } from '../config/schema.js';
import type { RateCard } from '../core/rate-card.js';
import { readLearnedRates } from '../../sinks/clickhouse/learned-rates.js';

/** How far back of now the versions are kept: events older than this are rejected as too old anyway. */
const KEEP_VERSIONS_MS = 31 * 86_400_000;

/**
 * Keeps a rate card's learned rates current: loads them before the first event is priced, then
 * every `reloadEveryMs`. The reload interval is shorter than the lead with which a learned
 * version takes effect (checked by the config schema), so every instance prices a window with
 * the same version, in a first pass and in a replay. A failed reload keeps what was loaded and
 * says so; the next one tries again.
 */
export class LearnedRatesReloader {
  private timer: NodeJS.Timeout | undefined;
  private loadedVersions = -1;

  constructor(
    private readonly rateCard: RateCard,
    private readonly clickhouse: ClickHouseClient,
    private readonly config: CostlineConfig,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  async start(): Promise<void> {
    if (!this.config.cost.learnedRates.enabled) return;
    await this.reload();
    this.timer = setInterval(() => {
      this.reload().catch((error: Error) => this.logger.warn({ err: error }, 'reloading learned GPU rates failed; pricing keeps the rates loaded before'));
    }, this.config.cost.learnedRates.reloadEveryMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async reload(): Promise<void> {
    const versions = await readLearnedRates(this.clickhouse, this.config.clickhouse.database, this.config.cost.currency, this.now() - KEEP_VERSIONS_MS);
    this.rateCard.setLearnedRates(versions);
    if (versions.length !== this.loadedVersions) {
      this.logger.info({ versions: versions.length, rates: versions.reduce((n, v) => n + v.rates.length, 0), latestFrom: versions.at(-1)?.effectiveFrom }, 'learned GPU rates loaded');
      this.loadedVersions = versions.length;
    }
  }
}
