/** Small shared pieces: status badges, error and empty states, the uPlot chart. */
import { type ReactNode, useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { explain } from './api.ts';

/** A coloured status word. */
export function Badge({ status, children }: { status: string; children?: ReactNode }) {
  return <span className={`badge badge-${status}`}>{children ?? status}</span>;
}

/** An error explained in words. */
export function ErrorNote({ error, what }: { error: unknown; what: string }) {
  return (
    <div className="note note-error" role="alert">
      Could not load {what}: {explain(error)}
    </div>
  );
}

/** What an empty list means. */
export function Empty({ children }: { children: ReactNode }) {
  return <div className="note note-empty">{children}</div>;
}

/** A titled panel. */
export function Card({ title, children, wide }: { title: string; children: ReactNode; wide?: boolean }) {
  return (
    <section className={wide ? 'card card-wide' : 'card'}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** A one-series time chart (x in Unix seconds). */
export function Chart({
  label,
  xs,
  ys,
  unit,
  testId,
}: {
  label: string;
  xs: number[];
  ys: (number | null)[];
  unit: string;
  testId: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = () => Math.max(240, el.clientWidth);
    const u = new uPlot(
      {
        width: width(),
        height: 160,
        legend: { show: false },
        scales: {
          x: { time: true },
          // Always from zero; an empty or all-zero series still gets a sensible 0..1 axis.
          y: { range: (_u, _min, max) => [0, Number.isFinite(max) && max > 0 ? max * 1.15 : 1] },
        },
        axes: [{}, { size: 50, values: (_u, vals) => vals.map((v) => `${v}${unit}`) }],
        series: [{}, { label, stroke: '#2563eb', width: 2, fill: 'rgba(37,99,235,0.08)', spanGaps: false }],
      },
      [[], []],
      el,
    );
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: width(), height: 160 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [label, unit]);

  useEffect(() => {
    plot.current?.setData([xs, ys]);
  }, [xs, ys]);

  return <div className="chart" ref={box} data-testid={testId} role="img" aria-label={label} />;
}
