import * as m from './measures';
import { JudgedRanking } from './ranking';

/**
 * The measures we support, their trec_eval names, default parameters, output names and how they are
 * summarised over queries. Specs use trec_eval's syntax ('P.5,10', 'ndcg_cut.10', 'ndcg.1=3,2=9') plus
 * the short forms 'ndcg@10', 'mrr@10', 'recall@100', 'p@10', 'map@10', 'success@5'.
 */

/** How the 'all' value is formed from per-query values. */
export type Summary = 'mean' | 'sum' | 'geometric';

export interface MeasureDefinition {
  name: string;
  description: string;
  /** Default parameters (cutoffs, recall fractions); absent for measures that take none. */
  defaults?: readonly number[];
  /** Parameters are integer cutoffs (trec_eval reads them with atol) or real fractions. */
  paramKind?: 'cutoff' | 'fraction' | 'gains';
  summary: Summary;
  /** Printed as an integer (trec_eval's %ld measures). */
  integer?: boolean;
  /** trec_eval prints only the summary value, no per-query lines (gm_map). */
  summaryOnly?: boolean;
  compute(r: JudgedRanking, params: readonly number[], gains: ReadonlyMap<number, number>): number[];
  /** Output names, one per value. */
  labels(params: readonly number[], rawParams: string | null): string[];
}

const CUTOFFS = [5, 10, 15, 20, 30, 100, 200, 500, 1000] as const;
const single = (name: string) => () => [name];
const perCutoff = (prefix: string) => (params: readonly number[]) => params.map((k) => `${prefix}_${k}`);

/** In trec_eval's print order. */
export const MEASURES: readonly MeasureDefinition[] = [
  { name: 'num_ret', description: 'documents retrieved', summary: 'sum', integer: true, compute: (r) => [r.numRet], labels: single('num_ret') },
  { name: 'num_rel', description: 'relevant documents judged', summary: 'sum', integer: true, compute: (r) => [r.numRel], labels: single('num_rel') },
  { name: 'num_rel_ret', description: 'relevant documents retrieved', summary: 'sum', integer: true, compute: (r) => [r.numRelRet], labels: single('num_rel_ret') },
  { name: 'map', description: 'mean average precision', summary: 'mean', compute: (r) => [m.averagePrecision(r)], labels: single('map') },
  { name: 'gm_map', description: 'geometric mean of average precision', summary: 'geometric', summaryOnly: true, compute: (r) => [m.averagePrecision(r)], labels: single('gm_map') },
  { name: 'Rprec', description: 'precision after R documents', summary: 'mean', compute: (r) => [m.rPrecision(r)], labels: single('Rprec') },
  { name: 'bpref', description: 'binary preference', summary: 'mean', compute: (r) => [m.bpref(r)], labels: single('bpref') },
  { name: 'recip_rank', description: 'reciprocal rank of the first relevant document', summary: 'mean', compute: (r) => [m.reciprocalRank(r)], labels: single('recip_rank') },
  {
    name: 'iprec_at_recall', description: 'interpolated precision at recall levels', summary: 'mean', paramKind: 'fraction',
    defaults: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
    compute: (r, p) => m.interpolatedPrecisionAtRecall(r, p), labels: (p) => p.map((f) => `iprec_at_recall_${f.toFixed(2)}`),
  },
  { name: 'P', description: 'precision at cutoffs', summary: 'mean', paramKind: 'cutoff', defaults: CUTOFFS, compute: (r, p) => p.map((k) => m.precisionAt(r, k)), labels: perCutoff('P') },
  { name: 'relative_P', description: 'relevant in top k over min(k, R)', summary: 'mean', paramKind: 'cutoff', defaults: CUTOFFS, compute: (r, p) => p.map((k) => m.relativePrecisionAt(r, k)), labels: perCutoff('relative_P') },
  { name: 'recall', description: 'recall at cutoffs', summary: 'mean', paramKind: 'cutoff', defaults: CUTOFFS, compute: (r, p) => p.map((k) => m.recallAt(r, k)), labels: perCutoff('recall') },
  {
    name: 'ndcg', description: 'nDCG over the whole ranking', summary: 'mean', paramKind: 'gains',
    compute: (r, _p, gains) => [m.ndcg(r, gains)], labels: (_p, raw) => [raw === null ? 'ndcg' : `ndcg_${raw}`],
  },
  { name: 'ndcg_cut', description: 'nDCG at cutoffs', summary: 'mean', paramKind: 'cutoff', defaults: CUTOFFS, compute: (r, p) => m.ndcgAt(r, p), labels: perCutoff('ndcg_cut') },
  { name: 'map_cut', description: 'average precision at cutoffs', summary: 'mean', paramKind: 'cutoff', defaults: CUTOFFS, compute: (r, p) => p.map((k) => m.averagePrecision(r, k)), labels: perCutoff('map_cut') },
  { name: 'recip_rank_cut', description: 'reciprocal rank within cutoffs (MRR@k; not in trec_eval)', summary: 'mean', paramKind: 'cutoff', defaults: [10], compute: (r, p) => p.map((k) => m.reciprocalRank(r, k)), labels: perCutoff('recip_rank_cut') },
  { name: 'success', description: '1 if a relevant document is within the cutoff', summary: 'mean', paramKind: 'cutoff', defaults: [1, 5, 10], compute: (r, p) => p.map((k) => m.successAt(r, k)), labels: perCutoff('success') },
  { name: 'set_P', description: 'precision of the retrieved set', summary: 'mean', compute: (r) => [m.setPrecision(r)], labels: single('set_P') },
  { name: 'set_recall', description: 'recall of the retrieved set', summary: 'mean', compute: (r) => [m.setRecall(r)], labels: single('set_recall') },
  { name: 'set_map', description: 'set precision x set recall', summary: 'mean', compute: (r) => [m.setPrecision(r) * m.setRecall(r)], labels: single('set_map') },
  { name: 'set_F', description: 'F1 of the retrieved set', summary: 'mean', compute: (r) => [m.setF(r)], labels: single('set_F') },
  { name: 'num_nonrel_judged_ret', description: 'judged non-relevant documents retrieved', summary: 'sum', integer: true, compute: (r) => [m.nonRelevantJudgedRetrieved(r)], labels: single('num_nonrel_judged_ret') },
];

/** trec_eval's nicknames: the default set and the set -m all_trec prints (of those we implement). */
const NICKNAMES: Record<string, readonly string[]> = {
  official: ['num_ret', 'num_rel', 'num_rel_ret', 'map', 'gm_map', 'Rprec', 'bpref', 'recip_rank', 'iprec_at_recall', 'P'],
  all_trec: MEASURES.filter((d) => d.name !== 'recip_rank_cut').map((d) => d.name),
};

const SHORT_FORMS: Record<string, string> = {
  'ndcg': 'ndcg_cut', 'mrr': 'recip_rank_cut', 'rr': 'recip_rank_cut', 'recall': 'recall', 'r': 'recall',
  'p': 'P', 'precision': 'P', 'map': 'map_cut', 'success': 'success',
};

/** A measure with its parameters resolved. */
export interface MeasureRequest {
  definition: MeasureDefinition;
  params: number[];
  gains: Map<number, number>;
  /** The parameter text as given (names the 'ndcg.1=3' output like trec_eval). */
  rawParams: string | null;
}

/**
 * Parses specs like ['ndcg_cut.10', 'P.5,10', 'mrr@10', 'official']. Cutoffs given for the same measure in
 * several specs are merged; a spec without parameters (defaults) or with gains replaces earlier ones.
 */
export function parseMeasures(specs: readonly string[]): MeasureRequest[] {
  const requests = new Map<string, MeasureRequest>();
  for (const raw of specs.flatMap(splitSpecs)) {
    const at = /^([A-Za-z_]+)@(\d+)$/.exec(raw);
    const spec = at ? `${SHORT_FORMS[at[1].toLowerCase()] ?? at[1]}.${at[2]}` : raw;
    const dot = spec.indexOf('.');
    const name = dot < 0 ? spec : spec.slice(0, dot);
    const rawParams = dot < 0 ? null : spec.slice(dot + 1);
    if (NICKNAMES[name] && rawParams === null) {
      for (const n of NICKNAMES[name]) if (!requests.has(n)) requests.set(n, defaultRequest(n));
      continue;
    }
    const definition = MEASURES.find((d) => d.name === name);
    if (!definition) throw new Error(`unknown measure '${raw}' (known: ${MEASURES.map((d) => d.name).join(', ')}, official, all_trec, ndcg@k, mrr@k, recall@k, p@k, map@k)`);
    const parsed = parseParams(definition, rawParams, raw);
    const earlier = requests.get(name);
    // 'recall.100,recall.1000' asks for both cutoffs, so repeated cutoff measures merge.
    if (earlier && rawParams !== null && earlier.rawParams !== null && definition.paramKind !== 'gains') {
      parsed.params = [...new Set([...earlier.params, ...parsed.params])].sort((a, b) => a - b);
      parsed.rawParams = `${earlier.rawParams},${parsed.rawParams}`;
    }
    requests.set(name, { definition, ...parsed });
  }
  return [...requests.values()].sort((a, b) => MEASURES.indexOf(a.definition) - MEASURES.indexOf(b.definition));
}

/** Splits 'ndcg_cut.10,20,recall.100' style lists at commas that start a new measure name. */
function splitSpecs(list: string): string[] {
  const out: string[] = [];
  for (const part of list.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (out.length > 0 && !/^[A-Za-z_]/.test(part)) out[out.length - 1] += `,${part}`;
    else out.push(part);
  }
  return out;
}

function defaultRequest(name: string): MeasureRequest {
  const definition = MEASURES.find((d) => d.name === name)!;
  return { definition, params: [...(definition.defaults ?? [])], gains: new Map(), rawParams: null };
}

function parseParams(definition: MeasureDefinition, rawParams: string | null, spec: string):
  { params: number[]; gains: Map<number, number>; rawParams: string | null } {
  if (rawParams === null) return { params: [...(definition.defaults ?? [])], gains: new Map(), rawParams };
  if (!definition.paramKind) throw new Error(`measure '${definition.name}' takes no parameters ('${spec}')`);
  const parts = rawParams.split(',').filter((p) => p !== '');
  if (parts.length === 0) throw new Error(`measure '${spec}' has an empty parameter list`);
  if (definition.paramKind === 'gains') {
    const gains = new Map<number, number>();
    for (const part of parts) {
      const [level, gain] = part.split('=');
      if (!/^-?\d+(\.\d*)?$/.test(level ?? '') || gain === undefined || !Number.isFinite(Number(gain)))
        throw new Error(`measure '${spec}': gains must be 'level=gain' pairs, got '${part}'`);
      gains.set(Math.trunc(Number(level)), Number(gain));
    }
    return { params: [], gains, rawParams };
  }
  const values = parts.map((p) => {
    const v = Number(p);
    if (!Number.isFinite(v)) throw new Error(`measure '${spec}': '${p}' is not a number`);
    // Cutoffs are whole ranks; trec_eval reads '23.4' as 23 (atol).
    return definition.paramKind === 'cutoff' ? Math.trunc(v) : v;
  });
  if (definition.paramKind === 'cutoff' && values.some((v) => v < 1)) throw new Error(`measure '${spec}': cutoffs must be positive`);
  if (definition.paramKind === 'fraction' && values.some((v) => v < 0 || v > 1)) throw new Error(`measure '${spec}': recall levels must be in [0, 1]`);
  const params = [...new Set(values)].sort((a, b) => a - b);
  return { params, gains: new Map(), rawParams };
}
