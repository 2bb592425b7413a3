/**
 * l0sparse: learned sparse retrieval over a native LibTorch addon.
 *
 * The five names most users need come first; everything after the "Advanced" line is the rest of the
 * public API (building blocks, file formats, OpenSearch, distributed training, setup).
 */

/** Model folder → sparse document vectors (and its query encoder); load, encode, decode, save. */
export { SparseEncoder } from './encode/sparse-encoder';
/** Inference-free query vectors: tokenizer + idf table, no model at query time. */
export { QueryEncoder } from './query/query-encoder';
/** In-memory / on-disk inverted index over sparse vectors with exact top-k search. */
export { SparseIndex } from './index/sparse-index';
/** Trains a sparse encoder (one step at a time; see runTraining for a whole run). */
export { NativeTrainer } from './train/native-trainer';
/** trec_eval-exact measures of a run against qrels. */
export { evaluate } from './eval';
export type { EncodeDocumentsOptions, SaveOptions } from './encode/sparse-encoder';
export type { QueryEncoderOptions } from './query/query-encoder';
export type { IndexStats, SearchResult, SearchOptions as SparseSearchOptions } from './index/sparse-index';
export type { IndexWeights, IndexVerify, LoadOptions as IndexLoadOptions, SaveOptions as IndexSaveOptions } from './index/sparse-index';
export type { TrainStepConfig, TrainBatch, TrainMetrics, BagOfWordsInit } from './train/native-trainer';
export type { Evaluation, EvaluateOptions, Qrels, Run, Hit } from './eval';

// ---------------------------------------------------------------------------------------------------------
// Advanced: everything else of the public API, by folder (docs/ARCHITECTURE.md "Folders").
// ---------------------------------------------------------------------------------------------------------

// Native addon: loading, tensors, threads, devices, memory, inference kernels (issue 20)
export { loadNative, NativeLoadError, readTorchRecord } from './native/loader';
export type { NativeAddon, BuildInfo, TorchRecord } from './native/loader';
export { tensor } from './native/tensor';
export type { Tensor, DType, TypedData } from './native/tensor';
export { setNumThreads, getNumThreads } from './native/threads';
export { checkDeviceName, cudaDeviceCount } from './native/device';
export type { DeviceName } from './native/device';
export { cpuMemoryStats, releaseCachedCpuMemory } from './native/memory';
export type { CpuMemoryStats } from './native/memory';
export { setGemmBackend, gemmBackend, cpuHasNativeBf16, parseGemmBackend } from './native/kernels';
export type { GemmBackendName, GemmBackendInfo } from './native/kernels';

// Single native ops (sparse head, FLOPS loss)
export { sparseHead, sparseHeadReference } from './ops/sparse-head';
export { flopsLoss } from './ops/flops-loss';
export type { FlopsLossArgs, FlopsLossResult } from './ops/flops-loss';
export type { SparseHeadArgs, SparseHeadResult, ActivationName } from './ops/sparse-head';

// Model and model folders (lib/model); tokenizer, idf
export { NativeMlmModel } from './model/native-model';
export type { MlmConfig, EncodeOptions, MlmHandle, ModelPlacement } from './model/native-model';
export type { ModelLayout } from './model/model-dir';
export { TextTokenizer } from './tokenizer/text-tokenizer';
export type { DocumentBatch, TokenizerSource } from './tokenizer/text-tokenizer';
export type { TextCheckOptions } from './tokenizer/texts';
export { IdfTable } from './idf/idf-table';
export { computeIdf, bm25Idf, UNSEEN_IDF_POLICIES } from './idf/compute-idf';
export type { ComputeIdfOptions, UnseenIdf } from './idf/compute-idf';

// Corpus encoding (lib/encode), sharded over ranks (docs/DISTRIBUTED.md)
export { encodeCorpus, readProgressRecord as readEncodeProgress } from './encode';
export type { EncodeCorpusOptions, EncodeCorpusReport, CorpusDocument, CorpusInput, EncodeMode, EncodeSettings, OutputPaths as EncodeOutputs } from './encode';
export { encodeCorpusSharded, mergeShards } from './encode';
export type { ShardedEncodeOptions, ShardedEncodeReport, MergeShardsOptions, MergeShardsReport, ShardSpec } from './encode';

// Vector formats (lib/sparse owns them): CSR, the binary CSR file, JSONL vectors, vocabularies, pruning
export { csrRow, csrRows, csrFromRows, validateCsr } from './sparse/csr';
export type { Csr } from './sparse/csr';
export { CsrFileWriter, CsrFileError, readCsrFile, readCsrFileAll, csrFileInfo, concatCsr, isCsrFile } from './sparse/csr-file';
export type { CsrBatch, CsrFileInfo, CsrWriterOptions } from './sparse/csr-file';
export { readJsonlVectors, readJsonlVectorsAll, writeJsonlVectors, jsonlVectorLines, JsonlVectorWriter, JsonlVectorError } from './sparse/jsonl-vectors';
export type { JsonlBatch, JsonlReadOptions, JsonlReadStats, SkippedLine } from './sparse/jsonl-vectors';
export { readVectorFile, streamVectorFile } from './sparse/vector-files';
export { readVocabFile, tokenToId } from './sparse/vocab';
export { checkPruneSpec, pruneCsr, parsePruneSpec, PRUNE_TYPES } from './sparse/prune';
export type { PruneSpec, PruneType } from './sparse/prune';

// Index shards
export { ShardedIndex } from './index/shards';
export type { ShardedSearchResult } from './index/shards';

// Evaluation, data files (BEIR, JSONL, TREC), BM25, encode → index → search → evaluate
export { parseMeasures, MEASURES as TREC_MEASURES, formatTrecEval, formatSummaryTable, evaluationToJson, judgeRanking, sortTrecEval } from './eval';
export { flops, meanNonZeros, activationRates, efficiency } from './eval';
export type { MeasureDefinition, JudgedRanking, EfficiencyReport } from './eval';
export { DataError, readJsonl, loadBeir, readBeirCorpus, readBeirQueries, readBeirQrels, readQrelsAuto, documentText } from './data';
export { readTrecRun, readTrecQrels, writeTrecRun, hitsToRun } from './data';
export type { DataProblem, BadLinePolicy, JsonlOptions, JsonlReport, BeirDocument, BeirQuery, BeirDataset, BeirLoadOptions, TrecRunFile } from './data';
export { Bm25Index, buildBm25Index, englishAnalyzer, standardTokenize, wordPieceAnalyzer, bm25OnBeir, LUCENE_ENGLISH_STOP_WORDS } from './bm25';
export type { Term, TextAnalyzer, BatchAnalyzer, Bm25Parameters, BeirBm25Options, BeirBm25Result } from './bm25';
export { evaluateEncoder, encodeTexts } from './retrieval/evaluate-encoder';
export type { EncoderEvalInput, EncoderEvalResult } from './retrieval/evaluate-encoder';

// Training: whole runs, configuration, schedule, collapse detection, held-out evaluation
export { initBagOfWords, TRAIN_STEP_KEYS } from './train/native-trainer';
export { runTraining } from './train/run';
export type { TrainRunOptions, TrainRunResult, EvalContext } from './train/run';
export { normalizeTrainConfig, loadTrainConfig, TRAIN_DEFAULTS } from './train/config';
export type { TrainRunConfig, TrainDataConfig, RandomInit, NormalizeOptions } from './train/config';
export { resolveScheduleLengths, PAPER_SCHEDULE_FRACTIONS } from './train/schedule-lengths';
export type { ScheduleLengths, ResolvedSchedule } from './train/schedule-lengths';
export { CollapseDetector, collapseSymptoms, equalScoresLoss, TrainingCollapsedError } from './train/collapse';
export type { Collapse, EqualScoresLoss } from './train/collapse';
export { readTrainingData } from './train/data';
export type { TrainingGroup, TrainingData } from './train/data';
export { heldOutEvaluation } from './train/held-out-eval';

// Data-parallel training and local launch (docs/DISTRIBUTED.md)
export { ProcessGroup, distributedFromEnv, shardOf, shardRange } from './train/distributed';
export type { DistributedEnv } from './train/distributed';
export { rankFromEnv } from './launch/rank-env';
export type { RankEnv } from './launch/rank-env';
export { launchLocal, RankFailedError } from './launch/local-launch';
export type { LaunchOptions } from './launch/local-launch';

// Export (OpenSearch bulk, Anserini, Seismic, ML Commons model files) and OpenSearch clusters
export { exportVectors } from './export/vector-files';
export type { ExportFormat, ExportOptions, ExportReport } from './export/vector-files';
export { exportOpenSearchModel } from './export/opensearch-model';
export { escapeFeatureName, unescapeFeatureName } from './export/token-keys';
export type { KeyPolicy } from './export/token-keys';
export { createClient, clientBulkTransport, clientRootTransport, clientSearchTransport, createIndex, refreshIndex } from './opensearch/client';
export { readClusterVersion, requireClusterFeatures } from './opensearch/versions';
export type { ClusterVersion, Feature, RootTransport, Version } from './opensearch/versions';
export { checkSparseVectorVocabulary, MAX_LINEAR_QUERY_WEIGHT, SEISMIC_MAX_VOCABULARY } from './opensearch/limits';
export { ingestBatches } from './opensearch/ingest';
export type { IngestOptions, IngestReport } from './opensearch/ingest';
export { Checkpoint } from './opensearch/checkpoint';
export { sendBulkWithRetry, ClusterUnavailableError, BulkRequestError, DEFAULT_RETRY } from './opensearch/bulk';
export type { BulkTransport, DocFailure, RetryPolicy } from './opensearch/bulk';
export { methodEngineToSend, rankFeaturesIndexBody, sparseVectorIndexBody } from './opensearch/mappings';
export type { SeismicParameters } from './opensearch/mappings';
export { rankFeatureSearchBody, neuralSparseSearchBody, fitLinearQueryWeights, queryTermsFromTokens, queryTermsForIds } from './opensearch/queries';
export { searchToTrec } from './opensearch/search';
export type { QueryInput, SearchOptions, SearchReport } from './opensearch/search';

// Setup: the binary package and LibTorch on a user's machine
export { runSetup, SetupError, findBinaryPackage, requestedVariant } from './setup';
export type { SetupOptions, SetupResult, Variant, LibTorchInfo, BinaryPackage } from './setup';
