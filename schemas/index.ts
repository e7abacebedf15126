// The contracts: Avro schemas, the types generated from them, and the one Confluent wire-format codec.
export * from './types.generated.js';
export { contracts, valueSubject, type Contract } from './contracts.js';
export { WireCodec, encodeWithId, MAGIC_BYTE, HEADER_LENGTH, type DecodeResult, type DecodeFailureReason, type SchemaSource } from './wire-format.js';
export { SchemaRegistryClient, SchemaRegistryError, type Compatibility, type RegistrySettings } from './registry-client.js';
export { deadLetterMetadataFromHeaders, type DeadLetterMetadataResult, type KafkaHeaders } from './dead-letter.js';
