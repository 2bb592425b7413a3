export { encodeCorpus } from './encode-corpus';
export type { EncodeCorpusOptions, EncodeCorpusReport } from './encode-corpus';
export { corpusDocuments, resolveCorpusFile } from './corpus-input';
export type { CorpusDocument, CorpusInput, CorpusReadOptions } from './corpus-input';
export { readProgressRecord } from './progress-record';
export type { CommittedState, EncodeRunIdentity, ProgressRecord } from './progress-record';
export type { EncodeMode, EncodeSettings } from './run-setup';
export type { OutputPaths } from './vector-outputs';
