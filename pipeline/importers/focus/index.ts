// The FOCUS billing importer: a FOCUS 1.x cost and usage export (CSV) to BillingCost lines on the billing topic.
export { REQUIRED_COLUMNS, OPTIONAL_COLUMNS, FocusHeaderError, resolveColumns, type FocusColumn, type ColumnLayout } from './columns.js';
export { readCsvRecords, MAX_RECORD_BYTES, type CsvItem } from './csv.js';
export { toBillingCost, billingRecordKey, parseFocusTimestamp, parseTags, isNullText, type RejectReason, type RowProblem, type RowOrigin, type RowResult } from './row.js';
export { importFocusCsv, openFocusExport, FocusFileError, type ImportOptions, type ImportSummary, type ImportProgress, type RejectedRow } from './importer.js';
export { RejectsFile, REJECT_COLUMNS, csvLine, describeProblems } from './rejects.js';
export { BillingPublisher, type BillingPublisherSettings } from './publisher.js';
