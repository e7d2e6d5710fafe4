import { useEffect, useReducer, useState, type RefObject } from 'preact/compat';
import type { Meeting } from './meeting';

/** Redraws the component whenever the meeting changes. */
export function useMeeting(meeting: Meeting): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const off = meeting.subscribe(() => bump(undefined));
    // Whatever changed before this effect ran (the first render's effects run later).
    bump(undefined);
    return off;
  }, [meeting]);
}

/** The element's content size, followed with a ResizeObserver. */
export function useSize(ref: RefObject<HTMLElement>): { width: number; height: number } {
  const [size, setSize] = useState({ width: 0, height: 0 });
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => {
      const r = el.getBoundingClientRect();
      setSize((s) => (Math.abs(s.width - r.width) < 1 && Math.abs(s.height - r.height) < 1 ? s : { width: r.width, height: r.height }));
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref]);
  return size;
}

/** Whether the element is on screen (for a scrolling strip: attach only visible videos). */
export function useVisible(ref: RefObject<HTMLElement>): boolean {
  const [visible, setVisible] = useState(true);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver((entries) => {
      for (const e of entries) setVisible(e.isIntersecting);
    });
    io.observe(el);
    return () => io.disconnect();
  }, [ref]);
  return visible;
}
