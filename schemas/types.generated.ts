// Generated from schemas/avro/*.avsc by schemas/codegen.ts. Do not edit: run `npm run schemas:generate`.

export type ActionType = 'shift_traffic' | 'rollback_model_version' | 'scale_down' | 'scale_up' | 'throttle_budget' | 'open_review' | 'page' | 'unknown';

export type ActionStatus = 'proposed' | 'suppressed_cooldown' | 'suppressed_cap' | 'unknown';

/** One decision of a playbook about an alert, on topic costline.actions, keyed by target_key so one target's actions stay in order on one partition. Automation may consume this topic blindly: act only when status is proposed, dry_run is false and requires_approval is false (or approval was given out of band), and apply each action_id at most once. A replay of the pipeline re-emits the same decisions with the same action_id; a decision suppressed by a cooldown or a cap is published too, with its status, so that silence can be explained. */
export interface PlaybookAction {
  /** Idempotency key of the decision, deterministic: a hash of playbook, playbook_rule, alert_id, action and target_key (plus the window it was decided in when an episode repeats an action after its cooldown). Derived from the data only, never from the clock or a random source, so a retry or a replay carries the same id. Consumers remember the ids they applied and skip one they have seen. */
  action_id: string;
  /** The alert episode the decision answers (Alert.alert_id on costline.alerts). */
  alert_id: string;
  /** The detector rule of that alert, e.g. latency_p95_regression, spend_spike. */
  rule: string;
  /** Name of the playbook (YAML file) that decided. */
  playbook: string;
  /** Name of the rule inside that playbook whose conditions matched. */
  playbook_rule: string;
  /** What to do. */
  action: ActionType;
  /** Whether the decision is to be acted on, or why not. */
  status: ActionStatus;
  /** The target as text, also the message key, e.g. llama-3.1-70b|v2|us-east-1 or team-a|exp-42. */
  target_key: string;
  /** The target's dimensions by name: model_name, model_version, region, endpoint, team, experiment, environment, resource_id, as far as they apply. */
  target: Record<string, string>;
  /** Parameters of the action as text, as the playbook states them, e.g. shift_traffic: to_region, percent; rollback_model_version: to_version; scale_down: replicas; throttle_budget: max_spend_per_hour, currency. */
  parameters: Record<string, string>;
  /** True when the playbook runs in dry-run mode: record and show the decision, change nothing. */
  dry_run: boolean;
  /** True when a person must approve before automation acts. */
  requires_approval: boolean;
  /** One sentence a person can act on: why this action, from the alert's evidence (e.g. "p95 latency of llama-3.1-70b v2 in us-east-1 is 3.1× its baseline for 5 min; rolling back to v1"). */
  reason: string;
  /** Start of the window the decision was made on (event time). */
  window_start: number;
  /** End (exclusive) of that window; the event time of the decision. */
  window_end: number;
  /** Event time after which the decision is stale and must not be carried out (a consumer catching up on old actions skips it); null when it does not expire. */
  expires_at: null | number;
}

export type Severity = 'info' | 'warning' | 'critical';

export type AlertStatus = 'firing' | 'updated' | 'resolved';

/** One state change of an alert episode, on topic costline.alerts, keyed by the alert key. An episode (one rule, one key) fires once, may be updated (severity change), and resolves; each change is one message. alert_id names the episode; (alert_id, sequence) names the message, so consumers can drop duplicates after a replay. */
export interface Alert {
  /** Deterministic id of the episode: a hash of rule, key and the window the episode started in. */
  alert_id: string;
  /** 0 for firing, then 1, 2, ... for each later state change of the same episode. */
  sequence: number;
  /** The detector rule that raised it, e.g. latency_p95_regression. */
  rule: string;
  /** How urgent it is. */
  severity: Severity;
  /** Where the episode is in its lifecycle. */
  status: AlertStatus;
  /** The series key as text, e.g. llama-3.1-70b|v2|us-east-1. */
  key: string;
  /** The key's dimensions by name (model_name, model_version, region, team, ...). */
  dimensions: Record<string, string>;
  /** Start of the window this change was decided on (event time). */
  window_start: number;
  /** End (exclusive) of that window. */
  window_end: number;
  /** Start of the window the episode first fired in. */
  episode_start: number;
  /** What was measured, e.g. latency_p95_ms. */
  metric: string;
  /** The metric's value in the window. */
  observed: number;
  /** What the detector expected (e.g. the trailing median). */
  baseline: number;
  /** How far off, in the detector's own unit (e.g. observed / baseline). */
  score: number;
  /** One sentence a person can act on. */
  evidence: string;
}

export type ChargeCategory = 'Usage' | 'Purchase' | 'Tax' | 'Credit' | 'Adjustment';

/** Where a billing line came from, for audit and for deduplicating a re-import. */
export interface BillingLineSource {
  /** The export file as it was named to the importer (path as given). */
  file: string;
  /** 1-based data row in that file (the header is not a row). */
  row: number;
  /** 1-based line of the file where the row starts (rows may span lines inside quoted fields). */
  line: number;
}

/** One line of a FinOps FOCUS 1.x cost and usage export (one charge of one resource or service over a charge period), on topic billing.costs. Keyed by ResourceId (a stable fallback when null: see pipeline/importers/focus). Fields keep the FOCUS column names, so a FOCUS reader recognises them; money columns are decimal(38, 12), exact. */
export interface BillingCost {
  /** When costline learned of this billing line (the import's wall-clock time, or the time given with --event-time), ms since the epoch (UTC). Not a FOCUS column: billing arrives hours or days after the charge, so the billing source's watermark and allowed lateness run on this time, while the cost itself belongs to the windows that ChargePeriodStart..ChargePeriodEnd covers. */
  event_time: number;
  /** FOCUS ChargePeriodStart: the inclusive start of the period the charge is for (UTC), ms since the epoch. */
  ChargePeriodStart: number;
  /** FOCUS ChargePeriodEnd: the exclusive end of the period the charge is for (UTC), ms since the epoch; never before ChargePeriodStart. */
  ChargePeriodEnd: number;
  /** FOCUS ChargeCategory: the highest-level classification of the charge by how it is billed. */
  ChargeCategory: ChargeCategory;
  /** FOCUS ChargeClass: "Correction" when the line corrects charges invoiced in an earlier billing period; null otherwise. */
  ChargeClass: null | string;
  /** FOCUS ChargeFrequency: how often the charge occurs: One-Time, Recurring or Usage-Based (casing normalised on import; other values kept as given). */
  ChargeFrequency: null | string;
  /** FOCUS ChargeDescription: a self-contained summary of what the charge is for and its price. */
  ChargeDescription: null | string;
  /** FOCUS BilledCost: the charge that is the basis for invoicing, with all reduced rates and discounts applied but without amortization of upfront purchases; per billing period its sum matches the invoice. Decimal(38, 12) in BillingCurrency: the unscaled integer is the amount in 10^-12 currency units, so sums are exact (decode with moneyFromDecimalBytes in pipeline/core/money.ts). */
  BilledCost: Buffer;
  /** FOCUS EffectiveCost: the amortized cost of the charge after reduced rates, discounts and the applicable share of prepaid purchases that covered it (0 for a purchase that covers future charges). Decimal(38, 12) in BillingCurrency: the unscaled integer is the amount in 10^-12 currency units, so sums are exact (decode with moneyFromDecimalBytes in pipeline/core/money.ts). */
  EffectiveCost: Buffer;
  /** FOCUS ListCost: ListUnitPrice × PricingQuantity, the cost at public list prices, for savings analysis; null when the export does not carry it. Decimal(38, 12) in BillingCurrency: the unscaled integer is the amount in 10^-12 currency units, so sums are exact (decode with moneyFromDecimalBytes in pipeline/core/money.ts). */
  ListCost: null | Buffer;
  /** FOCUS ContractedCost: ContractedUnitPrice × PricingQuantity, the cost at negotiated prices before commitment discounts; null when the export does not carry it. Decimal(38, 12) in BillingCurrency: the unscaled integer is the amount in 10^-12 currency units, so sums are exact (decode with moneyFromDecimalBytes in pipeline/core/money.ts). */
  ContractedCost: null | Buffer;
  /** FOCUS BillingCurrency: ISO 4217 three-letter code (upper case) of the currency every cost of this line is in. */
  BillingCurrency: string;
  /** FOCUS ListUnitPrice: the provider's published price of one PricingUnit of the SKU, before any discount, in BillingCurrency. A double: a rate for comparisons, never summed into money. */
  ListUnitPrice: null | number;
  /** FOCUS ContractedUnitPrice: the agreed price of one PricingUnit including negotiated discounts but not commitment-based discounts, in BillingCurrency. A double: a rate, never summed into money. */
  ContractedUnitPrice: null | number;
  /** FOCUS PricingCategory: the pricing model of the charge: Standard, Dynamic, Committed or Other (casing normalised on import). */
  PricingCategory: null | string;
  /** FOCUS PricingQuantity: the volume of the SKU used or purchased, in PricingUnit, as priced (after block pricing). A measurement, not money. */
  PricingQuantity: null | number;
  /** FOCUS PricingUnit: the provider's unit that unit prices are per (e.g. Hours, GB-Months, 1000 Requests). */
  PricingUnit: null | string;
  /** FOCUS ConsumedQuantity: the volume of the SKU actually consumed, in ConsumedUnit; null for charges that are not usage. A measurement, not money. */
  ConsumedQuantity: null | number;
  /** FOCUS ConsumedUnit: the provider's unit of measure for consumption (e.g. Hours, GB, Requests). */
  ConsumedUnit: null | string;
  /** FOCUS ProviderName: the entity that made the resources or services available for purchase (AWS, Microsoft, Google Cloud, Oracle, ...). */
  ProviderName: string;
  /** FOCUS PublisherName: the entity that produced the resources or services purchased (differs from the provider for marketplace offerings). */
  PublisherName: null | string;
  /** FOCUS InvoiceIssuerName: the entity that invoices for the resources or services consumed (a reseller, or the provider itself). */
  InvoiceIssuerName: null | string;
  /** FOCUS BillingAccountId: the provider's identifier of the billing account the invoice is issued to. */
  BillingAccountId: string;
  /** FOCUS BillingAccountName: the display name of the billing account. */
  BillingAccountName: null | string;
  /** FOCUS SubAccountId: the provider's identifier of the sub account (AWS account, Azure subscription, GCP project) grouping the resources, used for access management and cost allocation. */
  SubAccountId: null | string;
  /** FOCUS SubAccountName: the display name of the sub account. */
  SubAccountName: null | string;
  /** FOCUS BillingPeriodStart: the inclusive start of the billing (invoice) period (UTC), ms since the epoch. */
  BillingPeriodStart: null | number;
  /** FOCUS BillingPeriodEnd: the exclusive end of the billing (invoice) period (UTC), ms since the epoch. */
  BillingPeriodEnd: null | number;
  /** FOCUS ServiceCategory: the highest-level classification of the service by its core function (AI and Machine Learning, Compute, Storage, Networking, ...; casing normalised on import, other values kept as given). */
  ServiceCategory: string;
  /** FOCUS ServiceName: the offering purchased from the provider (e.g. Amazon Elastic Compute Cloud, Virtual Machines). */
  ServiceName: string;
  /** FOCUS SkuId: the provider's identifier of the SKU, the construct grouping properties shared by one or more SKU prices; look it up in the provider's catalog. */
  SkuId: null | string;
  /** FOCUS SkuPriceId: the provider's identifier of the unit price used to calculate this charge (terms, tiers); look it up in the price list. */
  SkuPriceId: null | string;
  /** FOCUS ResourceId: the provider's identifier of the resource charged (instance id, Azure resource id, OCID); null when the charge is not tied to a resource. The record key, so a resource's charges share a partition with its GPU samples (resource_id). */
  ResourceId: null | string;
  /** FOCUS ResourceName: the display name of the resource. */
  ResourceName: null | string;
  /** FOCUS ResourceType: the kind of resource the charge applies to (e.g. Virtual Machine, instance, volume). */
  ResourceType: null | string;
  /** FOCUS RegionId: the provider's identifier of the isolated geographic area where the resource is provisioned or the service provided (us-east-1, eastus, ...). */
  RegionId: null | string;
  /** FOCUS RegionName: the display name of that region (US East (N. Virginia), East US, ...). */
  RegionName: null | string;
  /** FOCUS AvailabilityZone: the provider's identifier of the physically separate area within the region. */
  AvailabilityZone: null | string;
  /** FOCUS CommitmentDiscountId: the provider's identifier of the commitment-based discount (reservation, savings plan) applied to this line. */
  CommitmentDiscountId: null | string;
  /** FOCUS CommitmentDiscountName: the display name of that commitment-based discount. */
  CommitmentDiscountName: null | string;
  /** FOCUS CommitmentDiscountCategory: whether the commitment is on usage quantity (Usage) or on cost (Spend). */
  CommitmentDiscountCategory: null | string;
  /** FOCUS CommitmentDiscountStatus: whether the line is consumption of the commitment (Used) or its unused portion (Unused). */
  CommitmentDiscountStatus: null | string;
  /** FOCUS CommitmentDiscountType: the provider's label for the kind of commitment-based discount (e.g. Reservation, Savings Plan). */
  CommitmentDiscountType: null | string;
  /** FOCUS Tags: the finalized user- and provider-defined tags (labels) of the charged resource, as key to value. The export's JSON object is flattened to strings: numbers and booleans as their JSON text (a key-only tag is "true"), keys with a null value left out. Cost is allocated directly by tags such as team or model version when present. */
  Tags: Record<string, string>;
  /** Not a FOCUS column: the export, row and line this billing line was imported from. */
  source: BillingLineSource;
}

/** Why and from where a record reached topic costline.dlq. A dead letter keeps the original key and value bytes untouched (they may not even be Avro), so this metadata travels as Kafka headers, one per field except event_time, which is the dead-letter record's own timestamp. This schema documents those headers and types them; deadLetterMetadataFromHeaders (schemas/dead-letter.ts) reads them back. The original record's own headers are kept beside these. */
export interface DeadLetterMetadata {
  /** Header costline.dlq.reason: why the record was refused, one of a small set of kebab-case words: empty-value, wrong-magic-byte, truncated-header, unknown-schema-id, incompatible-schema, undecodable-avro (decoding); out-of-bounds, future-timestamp, stale-timestamp, oversized-field (validation); late (behind the watermark by more than the allowed lateness). A string, not an enum, so a new reason needs no schema change; it is also the label of the dead-letter counter. */
  reason: string;
  /** Header costline.dlq.detail: the reason in a sentence naming the field and the value, at most 1000 characters. */
  detail: string;
  /** Header costline.source.topic: the topic the record was consumed from. */
  source_topic: string;
  /** Header costline.source.partition: its partition. */
  source_partition: number;
  /** Header costline.source.offset: its offset in that partition; with topic and partition, it finds the original record again. */
  source_offset: number;
  /** Header costline.source.timestamp: the original record's Kafka timestamp, ms since the epoch; null when the record carried none (-1). */
  source_timestamp: null | number;
  /** When the record was dead-lettered: the timestamp of the dead-letter record itself, ms since the epoch. */
  event_time: number;
}

export type GpuWorkload = 'inference' | 'training' | 'unassigned' | 'other';

/** One GPU over one sample interval, as a DCGM exporter (or an agent reading NVIDIA DCGM) reports it, on topic telemetry.gpu. Keyed by resource_id, like the billing lines of the same resource, so a resource's GPU-seconds and its charges land on the same partition. Metric fields carry DCGM semantics under snake_case names (the DCGM field each one comes from is named in its doc); the rest says where the GPU runs and what it serves, so its seconds and its cost can be attributed to a model version or to a team and experiment. */
export interface GpuSample {
  /** When the sample was taken: the end of the interval it stands for, event time in ms since the epoch (UTC). */
  event_time: number;
  /** How many milliseconds of wall time this sample stands for (the exporter's collection interval, e.g. 15000). GPU-seconds of the sample = sample_interval_ms / 1000; they are what estimated and billed cost are allocated by. */
  sample_interval_ms: number;
  /** Cluster (Kubernetes cluster, Slurm cluster, fleet) the node belongs to. */
  cluster: string;
  /** Host name of the node (Kubernetes node name), as dcgm-exporter's Hostname label. */
  node: string;
  /** Index of the GPU on its node (DCGM gpu id, DCGM_FI_DEV_NVML_INDEX), 0-based. */
  gpu_id: number;
  /** UUID of the device (DCGM_FI_DEV_UUID), e.g. GPU-5f1c...; stable across reboots and re-indexing. */
  gpu_uuid: string;
  /** GPU model as the rate card names it, e.g. H100-SXM5-80GB, A100-SXM4-40GB, L4 (normalised from DCGM_FI_DEV_NAME). */
  gpu_model: string;
  /** The cloud resource the billing export names for this GPU's host (FOCUS ResourceId): the instance id (i-0abc..., a VM resource id, a node pool instance). Joins GPU-seconds with billed cost. */
  resource_id: string;
  /** Who bills the resource, as FOCUS ProviderName says it: AWS, Microsoft, Google Cloud, Oracle, CoreWeave, on-prem, ... */
  provider: string;
  /** Region of the resource, as the provider names it (us-east-1, westeurope, ...): the FOCUS RegionId. */
  region: string;
  /** Instance type or SKU of the host, e.g. p5.48xlarge, Standard_ND96isr_H100_v5; null for hardware not rented by type (on-prem). */
  instance_type: null | string;
  /** What the GPU is allocated to. */
  workload: GpuWorkload;
  /** Model served (inference) or trained (training), e.g. llama-3.1-70b; null when unassigned. */
  model_name: null | string;
  /** Deployed version of the model served, e.g. 2026-11-01.2, the same value token-usage events carry; null for training jobs and unassigned GPUs. */
  model_version: null | string;
  /** Inference endpoint (deployment) the GPU serves; null unless workload is inference. */
  endpoint: null | string;
  /** Team that owns the allocation and pays for it; for unassigned GPUs, the team holding the reservation. */
  team: string;
  /** Experiment id (training run, A/B test) the GPU works for, when it works for one. */
  experiment: null | string;
  /** prod, staging, dev, ... */
  environment: string;
  /** DCGM_FI_DEV_GPU_UTIL: percent (0-100) of the interval during which one or more kernels ran. Coarse: it reads 100 while small kernels leave most SMs idle; prefer sm_active for headroom. */
  gpu_utilization: number;
  /** DCGM_FI_PROF_SM_ACTIVE: ratio (0-1) of cycles an SM had at least one warp assigned, averaged over all SMs. Null where profiling metrics are unavailable (older GPUs, profiling locked by another tool). */
  sm_active: null | number;
  /** DCGM_FI_DEV_FB_USED: framebuffer (device) memory in use, MiB. */
  fb_used_mib: number;
  /** DCGM_FI_DEV_FB_TOTAL (equivalently FB_USED + FB_FREE + FB_RESERVED): framebuffer memory of the device, MiB. Memory saturation = fb_used_mib / fb_total_mib. */
  fb_total_mib: number;
  /** DCGM_FI_PROF_DRAM_ACTIVE: ratio (0-1) of cycles the device memory interface was sending or receiving data; the memory-bandwidth utilization. Null where profiling metrics are unavailable. */
  dram_active: null | number;
  /** DCGM_FI_DEV_POWER_USAGE: power draw in watts. */
  power_watts: number;
  /** DCGM_FI_DEV_GPU_TEMP: GPU temperature in degrees Celsius. */
  temperature_c: number;
  /** Number of XID errors (driver-reported GPU faults) the GPU raised during the interval; 0 when healthy. */
  xid_errors: number;
  /** DCGM_FI_DEV_XID_ERRORS: code of the last XID error in the interval (e.g. 79: fell off the bus, 48: double-bit ECC error); null when there was none. DCGM reports the code, not a count; xid_errors is the count. */
  last_xid: null | number;
}

export type PartialKind = 'partial' | 'watermark';

/** The usage-based billing lines of one SKU (in one pricing unit and currency) that arrived in the window, summed: their list cost over their pricing quantity is the SKU's list unit price. */
export interface UnitPriceUsage {
  /** FOCUS SkuId. */
  sku_id: string;
  /** FOCUS PricingUnit the quantity and prices are per (Hours, GB, ...). */
  pricing_unit: string;
  /** FOCUS BillingCurrency of the costs. */
  currency: string;
  /** The instance type of the charged resources, as their GPU samples name it; empty when none was seen. */
  instance_type: string;
  /** Billing lines summed. */
  lines: number;
  /** Sum of FOCUS PricingQuantity. */
  pricing_quantity: number;
  /** Sum of FOCUS ListCost (ListUnitPrice × PricingQuantity when absent), nano-units of the currency. */
  list_cost_nanos: number;
  /** Sum of FOCUS EffectiveCost, nano-units of the currency. */
  effective_cost_nanos: number;
  /** Earliest ChargePeriodStart of the lines (ms). */
  charge_period_start: number;
  /** Latest ChargePeriodEnd of the lines (ms). */
  charge_period_end: number;
}

/** Internal topic costline.internal.partials, keyed by the rollup key id. Stage 1 (one task per input partition number) pre-aggregates a window of one key from its own partitions and emits it here; stage 2 merges the partials of all tasks when every task's watermark has passed the window. A later partial of the same key, window and task replaces an earlier one when its version is higher. A record of kind watermark carries only a task's watermark, sent to every partition. */
export interface PartialRollup {
  /** partial: a window's pre-aggregate; watermark: a task's progress marker. */
  kind: PartialKind;
  /** The stage-1 task (input partition number) that sent it. */
  task: number;
  /** On a watermark record: the task's event-time watermark (ms), -1 while it has none; every partial the task emitted before it is already on the topic. On a partial: informational only. */
  watermark: number;
  /** The task has had no input for the idle timeout: stage 2 does not wait for it. */
  idle: boolean;
  /** model, owner or provider_region. */
  rollup_kind: string;
  /** The key's dimension names. */
  dimension_names: Array<string>;
  /** The key's dimension values, in the same order. */
  dimension_values: Array<string>;
  /** Window start (event time, ms). */
  window_start: number;
  /** Window end, exclusive (event time, ms). */
  window_end: number;
  /** Events folded into this partial; grows with every update of the window in this task. */
  version: number;
  /** Requests. */
  requests: number;
  /** Requests with status ok. */
  successes: number;
  /** Requests with another status. */
  errors: number;
  /** Retries made. */
  retries: number;
  /** Input tokens. */
  input_tokens: number;
  /** Output tokens. */
  output_tokens: number;
  /** Cached input tokens. */
  cached_input_tokens: number;
  /** Egress bytes. */
  egress_bytes: number;
  /** Quantile sketch of request latency (ms): costline's log-bucket layout (pipeline/core/quantile-sketch.ts), 0.8% relative accuracy; empty when no value. */
  latency_sketch: Buffer;
  /** Quantile sketch of time to first token (ms), same layout. */
  ttft_sketch: Buffer;
  /** Queue samples. */
  queue_samples: number;
  /** Sum of waiting requests over samples. */
  queue_depth_sum: number;
  /** Most waiting requests in one sample. */
  queue_depth_max: number;
  /** Sum of running requests over samples. */
  queue_running_sum: number;
  /** Requests that waited. */
  queue_wait_count: number;
  /** Their total wait (ms). */
  queue_wait_sum_ms: number;
  /** Quantile sketch of the samples' p95 queue wait (ms), same layout. */
  queue_wait_p95_sketch: Buffer;
  /** Sum of KV-cache utilization over samples. */
  kv_cache_sum: number;
  /** Highest KV-cache utilization. */
  kv_cache_max: number;
  /** Preemptions. */
  preemptions: number;
  /** GPU samples. */
  gpu_samples: number;
  /** GPU-seconds observed. */
  gpu_seconds: number;
  /** GPU utilization (percent) × seconds. */
  utilization_seconds: number;
  /** SM active ratio × seconds. */
  sm_active_seconds: number;
  /** Framebuffer used/total × seconds. */
  memory_saturation_seconds: number;
  /** Highest framebuffer used/total. */
  memory_saturation_max: number;
  /** DRAM active ratio × seconds. */
  dram_active_seconds: number;
  /** Power × seconds. */
  energy_joules: number;
  /** GPU-seconds below the idle utilization threshold. */
  idle_gpu_seconds: number;
  /** XID errors. */
  xid_errors: number;
  /** Distinct GPU UUIDs seen. */
  gpus: Array<string>;
  /** Each GPU's own GPU-seconds, utilization (percent) × seconds, XID errors and node, for the GPUs of gpus in the same order: costline's layout (pipeline/core/partial-rollup.ts), version 1. Empty from a writer that predates it: the GPUs then read as the pool's mean. */
  gpu_usage: Buffer;
  /** Estimated cost, nano-units of the currency. */
  estimated_cost_nanos: number;
  /** Egress cost, nano-units of the currency. */
  egress_cost_nanos: number;
  /** On provider_region partials: billed usage per SKU from the billing lines that arrived (event_time) in the window, for the price_change rule. Empty from a writer that predates it, and on other kinds. */
  unit_prices: Array<UnitPriceUsage>;
}

/** The scheduler state of one inference server replica over one sample interval, on topic telemetry.queue, keyed by endpoint. Fields follow what vLLM exports on /metrics (vllm:num_requests_waiting, vllm:num_requests_running, vllm:request_queue_time_seconds, vllm:kv_cache_usage_perc, vllm:num_preemptions_total); other servers (TGI, SGLang, TensorRT-LLM) map onto the same meanings. Gauges are the value at event_time; counters and histograms are the increase over the interval, so samples add up across replicas and windows. */
export interface QueueSample {
  /** When the sample was taken: the end of the interval it stands for, event time in ms since the epoch (UTC). */
  event_time: number;
  /** How many milliseconds of wall time this sample stands for (the scrape interval, e.g. 15000); the counters below are increases over it. */
  sample_interval_ms: number;
  /** Inference endpoint (deployment) name, the same value token-usage events carry. */
  endpoint: string;
  /** The server replica (pod or process) that exported the sample. Several replicas serve one endpoint; the endpoint's queue at an instant is the sum over its replicas. */
  replica: string;
  /** Model the replica serves, e.g. llama-3.1-70b (vLLM's model_name label). */
  model_name: string;
  /** Deployed version of that model, e.g. 2026-11-01.2, the same value token-usage events carry. */
  model_version: string;
  /** Cloud region the replica runs in, as the provider names it (us-east-1, westeurope, ...). */
  region: string;
  /** Host name of the node the replica runs on. */
  node: string;
  /** The cloud resource (instance id) of that node, as the billing export names it (FOCUS ResourceId). */
  resource_id: string;
  /** Team that owns the endpoint. */
  team: string;
  /** prod, staging, dev, ... */
  environment: string;
  /** vllm:num_requests_waiting: requests queued, not yet scheduled, at event_time (the queue depth). */
  num_requests_waiting: number;
  /** vllm:num_requests_running: requests in the running batch on the GPU at event_time. */
  num_requests_running: number;
  /** Requests that left the queue (were scheduled) during the interval: the increase of vllm:request_queue_time_seconds_count. */
  queue_wait_count: number;
  /** Total time those requests spent waiting in the queue, ms: the increase of vllm:request_queue_time_seconds_sum × 1000. Mean queue wait = queue_wait_ms_sum / queue_wait_count; sums and counts add exactly across replicas and windows. */
  queue_wait_ms_sum: number;
  /** 95th percentile of queue wait over the interval, ms, as the server estimates it from its histogram buckets; null when no request left the queue. A per-sample statistic: it cannot be merged exactly across samples, the mean can. */
  queue_wait_ms_p95: null | number;
  /** vllm:kv_cache_usage_perc (formerly vllm:gpu_cache_usage_perc): fraction of the GPU KV-cache blocks in use at event_time, 0-1 (1 means 100 percent, vLLM's own convention despite the name). */
  kv_cache_usage_perc: number;
  /** Requests preempted (evicted from the running batch for lack of KV-cache) during the interval: the increase of vllm:num_preemptions_total. */
  num_preemptions: number;
}

export type RequestStatus = 'ok' | 'error' | 'timeout' | 'rate_limited' | 'cancelled';

/** One inference request as a gateway or inference server saw it, on topic telemetry.tokens. Names follow the OpenTelemetry GenAI semantic conventions (gen_ai.usage.*, gen_ai.request.model) plus what costline needs to join cost with performance. Keyed by endpoint. */
export interface TokenUsage {
  /** When the request completed, event time in ms since the epoch (UTC). */
  event_time: number;
  /** Unique id of the request (gateway request id or trace id). */
  request_id: string;
  /** gen_ai.request.model: the model asked for, e.g. llama-3.1-70b. */
  model_name: string;
  /** The deployed version of that model that served the request, e.g. 2026-11-01.2. */
  model_version: string;
  /** gen_ai.response.model: the model that actually answered, when it differs. */
  response_model: null | string;
  /** gen_ai.operation.name: chat, text_completion, embeddings, ... */
  operation_name: string;
  /** Cloud region that served it, as the provider names it (us-east-1, westeurope, ...). */
  region: string;
  /** Inference endpoint (deployment) name. */
  endpoint: string;
  /** Owning team (tenant) the request is billed to. */
  team: string;
  /** Experiment id when the traffic belongs to one. */
  experiment: null | string;
  /** prod, staging, dev, ... */
  environment: string;
  /** gen_ai.usage.input_tokens: prompt tokens, cached ones included. */
  input_tokens: number;
  /** gen_ai.usage.output_tokens: generated tokens. */
  output_tokens: number;
  /** Input tokens served from a prompt cache (a subset of input_tokens). */
  cached_input_tokens: number;
  /** End-to-end request latency in milliseconds. */
  latency_ms: number;
  /** Time to first token in milliseconds; null for non-streaming requests. */
  time_to_first_token_ms: null | number;
  /** Outcome; a symbol unknown to this reader resolves to error. */
  status: RequestStatus;
  /** Retries the gateway made before this outcome. */
  retry_count: number;
  /** Bytes sent back to the client (for egress cost). */
  egress_bytes: number;
  /** gen_ai.usage.cache_creation.input_tokens: input tokens written to a prompt cache by this request (providers bill cache writes at their own rate); null when the producer does not report it. */
  cache_creation_input_tokens: null | number;
  /** gen_ai.provider.name (formerly gen_ai.system): the GenAI provider as the instrumentation names it, e.g. openai, aws.bedrock, gcp.vertex_ai, anthropic; null when not reported (a self-hosted server usually does not). */
  provider_name: null | string;
}
