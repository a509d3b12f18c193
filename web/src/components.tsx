/** Small shared pieces: status badges, error and empty states, the uPlot chart. */
import { type CSSProperties, type ReactNode, useEffect, useRef, useState } from 'react';
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

/**
 * A wide table in a box that scrolls sideways on a narrow screen, and says so: while columns are
 * out of view, a fading edge marks the side they are on and a hint reads "scroll sideways".
 */
export function ScrollTable({ children, minWidth }: { children: ReactNode; minWidth?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const [more, setMore] = useState<{ left: boolean; right: boolean }>({ left: false, right: false });
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => {
      const left = el.scrollLeft > 1;
      const right = el.scrollLeft + el.clientWidth < el.scrollWidth - 1;
      setMore((m) => (m.left === left && m.right === right ? m : { left, right }));
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    if (el.firstElementChild) ro.observe(el.firstElementChild);
    el.addEventListener('scroll', measure, { passive: true });
    return () => {
      ro.disconnect();
      el.removeEventListener('scroll', measure);
    };
  }, []);
  const cls = ['table-scroll', more.left ? 'more-left' : '', more.right ? 'more-right' : ''].filter(Boolean).join(' ');
  return (
    <div className="table-scroll-wrap">
      {(more.left || more.right) && (
        <div className="scroll-hint" data-testid="scroll-hint" aria-hidden="true">
          {more.left ? '←' : ''} scroll sideways for more columns {more.right ? '→' : ''}
        </div>
      )}
      <div
        className={cls}
        ref={box}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
        tabIndex={0}
        data-testid="table-scroll"
        // Below this width the columns would be too narrow to read: scroll instead.
        style={minWidth ? ({ '--table-min': `${minWidth}px` } as CSSProperties) : undefined}
      >
        {children}
      </div>
    </div>
  );
}

/**
 * The width a uPlot axis needs for its longest label (plus ticks and gap), so labels such as
 * "12500 ms" are never cut at the canvas edge.
 */
function axisSize(self: uPlot, values: string[] | null, axisIdx: number, cycleNum: number): number {
  const axis = self.axes[axisIdx] as uPlot.Axis & { _size?: number; ticks?: { size?: number } };
  if (cycleNum > 1 && axis._size) return axis._size;
  let size = (axis.ticks?.size ?? 10) + (typeof axis.gap === 'number' ? axis.gap : 5) + 4;
  const longest = (values ?? []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), '');
  if (longest) {
    const font = Array.isArray(axis.font) ? axis.font[0] : axis.font;
    if (typeof font === 'string') self.ctx.font = font;
    size += self.ctx.measureText(longest).width / (window.devicePixelRatio || 1);
  }
  return Math.ceil(size);
}

/**
 * Time-axis labels in the browser's local time, 24-hour: HH:MM, or HH:MM:SS when ticks are less
 * than a minute apart. Their width no longer depends on the hour (uPlot's default "6:45:30pm" vs
 * "10:45:30pm"), so the padding above always holds the last label inside the canvas.
 */
function timeLabels(_u: uPlot, splits: number[], _axisIdx: number, _space: number, incr: number): string[] {
  const chars = incr < 60 ? 8 : 5;
  return splits.map((s) => new Date(s * 1000).toTimeString().slice(0, chars));
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
        // Room on both sides for the first and last time labels, which are centred on their ticks:
        // half of the widest label timeLabels draws ("23:59:59", about 50 px) plus a margin.
        padding: [10, 32, 0, 12],
        axes: [{ values: timeLabels }, { size: axisSize, values: (_u, vals) => vals.map((v) => `${v}${unit}`) }],
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
