import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Series {
  label: string;
  /** A CSS colour for the line; the legend names the series too, so colour is never the only cue. */
  stroke: string;
  dash?: number[];
}

/**
 * A time-series chart (uPlot: canvas, ~50 KB, no dependencies). `data[0]` is
 * unix seconds, then one array per series. The chart follows its container's
 * width, so one component fits 1280 px and 390 px screens.
 */
export function Chart({
  title,
  series,
  data,
  unit,
  height = 180,
}: {
  title: string;
  series: Series[];
  data: (number | null)[][];
  unit: string;
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current!;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      series: [
        { label: 'time' },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 2,
          ...(s.dash ? { dash: s.dash } : {}),
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : `${v.toFixed(v >= 100 ? 0 : 1)} ${unit}`),
        })),
      ],
      axes: [{}, { size: 50, values: (_u, vals) => vals.map((v) => String(v)) }],
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    plot.current = new uPlot(opts, data as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // The chart is made once; new data goes through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div
        ref={box}
        class="chart-canvas"
        role="img"
        aria-label={`${title}: chart of the last 15 minutes; current values are listed beside it`}
      />
    </figure>
  );
}
