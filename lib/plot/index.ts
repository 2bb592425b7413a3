export { renderVegaLite, writeChart, pngSize, type RenderedChart } from './render';
export { tradeoffChart, trainingCurveChart, isParetoOptimal, type TradeoffPoint, type CurvePoint } from './charts';
