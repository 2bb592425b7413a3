import type { Evaluation } from './evaluate';

/**
 * trec_eval's text output: `name<pad to 22>\tqid\tvalue`, values with 4 decimals except the integer
 * measures; per-query lines (with -q) come first, then the 'all' lines led by runid and num_q.
 */
export function formatTrecEval(evaluation: Evaluation, options: { perQuery?: boolean; runId?: string } = {}): string {
  const line = (name: string, qid: string, value: string) => `${name.padEnd(22)}\t${qid}\t${value}\n`;
  const show = (name: string, v: number) => (evaluation.integerNames.has(name) ? String(Math.round(v)) : v.toFixed(4));
  let out = '';
  if (options.perQuery) {
    for (const qid of evaluation.queries) {
      const values = evaluation.perQuery.get(qid)!;
      for (const name of evaluation.names) {
        if (!evaluation.summaryOnlyNames.has(name)) out += line(name, qid, show(name, values.get(name)!));
      }
    }
  }
  out += line('runid', 'all', options.runId ?? 'run');
  out += line('num_q', 'all', String(evaluation.queries.length));
  for (const name of evaluation.names) out += line(name, 'all', show(name, evaluation.summary.get(name)!));
  return out;
}

/** A compact two-column table of the summary values, for people. */
export function formatSummaryTable(evaluation: Evaluation): string {
  const width = Math.max(7, ...evaluation.names.map((n) => n.length));
  let out = `${'measure'.padEnd(width)}  value\n${'-'.repeat(width)}  ------\n`;
  out += `${'queries'.padEnd(width)}  ${evaluation.queries.length}\n`;
  for (const name of evaluation.names) {
    const v = evaluation.summary.get(name)!;
    out += `${name.padEnd(width)}  ${evaluation.integerNames.has(name) ? String(Math.round(v)) : v.toFixed(4)}\n`;
  }
  return out;
}

/** Summary (and optionally per-query values) as a plain object for JSON output. */
export function evaluationToJson(evaluation: Evaluation, perQuery = false): Record<string, unknown> {
  return {
    numQueries: evaluation.queries.length,
    summary: Object.fromEntries(evaluation.summary),
    ...(perQuery ? { perQuery: Object.fromEntries([...evaluation.perQuery].map(([q, v]) => [q, Object.fromEntries(v)])) } : {}),
  };
}
