/**
 * Charts as real images: a Vega-Lite spec → Vega (headless, renderer 'none') → SVG → PNG with resvg.
 * The fonts resvg needs are loaded from the system (any sans-serif); text falls back to the default family.
 */
import * as fs from 'fs';
import * as path from 'path';

import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

import { writeFileAtomic } from '../io';

export interface RenderedChart {
  svg: string;
  png: Buffer;
  width: number;
  height: number;
}

/** Renders a Vega-Lite spec to SVG and PNG (scale = PNG pixels per SVG unit). */
export async function renderVegaLite(spec: TopLevelSpec, options: { scale?: number } = {}): Promise<RenderedChart> {
  const vgSpec = compile(spec).spec;
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const resvg = new Resvg(svg, {
      fitTo: { mode: 'zoom', value: options.scale ?? 2 },
      background: 'white',
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    });
    const image = resvg.render();
    return { svg, png: image.asPng(), width: image.width, height: image.height };
  } finally {
    view.finalize();
  }
}

/** Writes `<base>.svg` and `<base>.png`; returns their paths. */
export async function writeChart(spec: TopLevelSpec, base: string, options: { scale?: number } = {}): Promise<{ svg: string; png: string; width: number; height: number }> {
  const chart = await renderVegaLite(spec, options);
  fs.mkdirSync(path.dirname(base), { recursive: true });
  writeFileAtomic(`${base}.svg`, chart.svg);
  writeFileAtomic(`${base}.png`, chart.png);
  return { svg: `${base}.svg`, png: `${base}.png`, width: chart.width, height: chart.height };
}

/** Width and height from a PNG's IHDR chunk (throws if the bytes are not a PNG). */
export function pngSize(png: Buffer): { width: number; height: number } {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  if (png.length < 24 || !png.subarray(0, 8).equals(signature) || png.toString('ascii', 12, 16) !== 'IHDR') {
    throw new Error('not a PNG');
  }
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
