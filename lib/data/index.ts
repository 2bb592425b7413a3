export { DataError, describeProblem } from './errors';
export type { DataProblem, WarningSink } from './errors';
export { readJsonl } from './jsonl';
export type { BadLinePolicy, JsonlOptions, JsonlReport, RecordValidator } from './jsonl';
export { readBeirCorpus, readBeirQueries, readBeirQrels, readQrelsAuto, loadBeir, documentText, beirPaths } from './beir';
export type { BeirDocument, BeirQuery, BeirDataset, BeirLoadOptions } from './beir';
export { readTrecRun, readTrecQrels, writeTrecRun, formatTrecRunLines, hitsToRun } from './trec';
export type { TrecRunFile } from './trec';
